//! `legacy_write`: OP_INSERT / OP_UPDATE / OP_DELETE, optionally followed by
//! getLastError, for servers from before write commands took over.

use super::{Admission, Connection};
use crate::error::{Error, ErrorKind, OperationFailure, Result};
use crate::reply_check::check_gle_reply;

pub use crate::reply_check::LegacyWriteResult;

impl Connection {
    /// Sends a legacy write message (`msg`: an OP_INSERT, OP_UPDATE or OP_DELETE,
    /// followed by an OP_QUERY `getlasterror` whose request id is `request_id` when
    /// `with_last_error` is true) and, when acknowledged, reads and checks the
    /// getLastError reply.
    ///
    /// Refused before anything is sent: a document larger than the server accepts
    /// (`max_doc_size` is the largest in `msg`); an unacknowledged write to a server
    /// that is not a writable primary (as PyMongo did: nobody would learn it was
    /// lost); any legacy write to a server of wire version 14 (MongoDB 5.1) or
    /// later, which would silently drop the connection.
    pub async fn legacy_write(
        &mut self,
        request_id: i32,
        msg: &[u8],
        max_doc_size: usize,
        with_last_error: bool,
    ) -> Result<Option<LegacyWriteResult>> {
        self.admit(Admission::Ready)?;
        if !self.hello.supports_legacy_writes() {
            return Err(Error::new(ErrorKind::Unsupported {
                message: format!(
                    "{} speaks wire version {}; servers from 5.1 (wire version 14) on no \
                     longer accept OP_INSERT/OP_UPDATE/OP_DELETE: use write commands",
                    self.address, self.hello.max_wire_version
                ),
            }));
        }
        if !with_last_error && !self.hello.is_writable_primary && !self.hello.is_mongos {
            return Err(Error::new(ErrorKind::NotPrimary(OperationFailure {
                code: 10107,
                code_name: Some("NotWritablePrimary".into()),
                message: format!(
                    "{} is not a writable primary; an unacknowledged write would be lost",
                    self.address
                ),
                labels: Vec::new(),
                reply: bson::RawDocumentBuf::new(),
            })));
        }
        self.send_message(msg, max_doc_size).await?;
        if !with_last_error {
            return Ok(None);
        }
        let admission = self.pending_reply();
        self.admit(admission)?;
        self.life
            .guarded(self.io.receive_reply(&[request_id]))
            .await?;
        check_gle_reply(self.io.reply_document()).map(Some)
    }
}
