//! moreToCome in both directions: requests that get no reply, and exhaust replies
//! that keep coming until the server clears the flag.

use bson::{RawDocument, RawDocumentBuf};
use mongopool_wire::MsgFlags;

use super::command::CommandOptions;
use super::{Admission, Broken, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::reply_check::check_command_reply;

/// Where an exhaust stream stands: the request that started it and the last reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExhaustIds {
    request: i32,
    previous_reply: i32,
}

impl Connection {
    /// Sends a command with the moreToCome flag: the server sends no reply, and
    /// nothing is read. Use it for unacknowledged writes (with `writeConcern: {w: 0}`
    /// in the command, as the OP_MSG spec requires). Needs OP_MSG (wire version 6+).
    pub async fn send_unacknowledged(&mut self, db: &str, spec: &RawDocument) -> Result<()> {
        self.require_op_msg("moreToCome")?;
        self.run_command(db, spec, &CommandOptions::default(), MsgFlags::MORE_TO_COME)
            .await?;
        Ok(())
    }

    /// Runs a command with exhaustAllowed set (only `getMore` and `hello` accept it)
    /// and returns the first reply. If the server answered with moreToCome, more
    /// replies follow: read them with [`Connection::next_exhaust_reply`] until it
    /// returns `None`; until then the connection carries nothing else.
    pub async fn command_exhaust(
        &mut self,
        db: &str,
        spec: &RawDocument,
        options: &CommandOptions,
    ) -> Result<RawDocumentBuf> {
        self.require_op_msg("exhaustAllowed")?;
        let reply = self
            .run_command(db, spec, options, MsgFlags::EXHAUST_ALLOWED)
            .await?;
        if reply.more_to_come {
            self.exhaust_request = Some(ExhaustIds {
                request: reply.response_to,
                previous_reply: reply.request_id,
            });
        }
        if options.check {
            if let Err(e) = check_command_reply(self.io.reply_document(), &options.allowable_errors)
            {
                if reply.more_to_come {
                    self.break_exhaust();
                }
                return Err(e);
            }
        }
        Ok(self.io.take_reply_document())
    }

    /// The next reply of an exhaust stream, or `None` once the server has sent the
    /// last one (the connection is then usable again). Each reply must answer the
    /// previous one's request id. Dropping the stream half-read leaves the connection
    /// unusable, as it must be.
    pub async fn next_exhaust_reply(&mut self) -> Result<Option<RawDocumentBuf>> {
        let Some(ids) = self.exhaust_request else {
            return Ok(None);
        };
        self.admit(Admission::Exhaust)?;
        // The spec: each follow-up answers the previous reply. Some servers
        // (SecantusDB 0.5) answer the original request every time; accept that
        // too, as the drivers do, but nothing else.
        let accepted = [ids.previous_reply, ids.request];
        let reply = self
            .life
            .guarded(self.io.receive_reply(&accepted))
            .await
            .inspect_err(|_| self.break_exhaust())?;
        self.exhaust_request = reply.more_to_come.then_some(ExhaustIds {
            request: ids.request,
            previous_reply: reply.request_id,
        });
        Ok(Some(self.io.take_reply_document()))
    }

    /// Any error inside an exhaust stream ends the connection: the server may still
    /// be sending the stream's replies, which no later caller must read as its own.
    fn break_exhaust(&mut self) {
        self.exhaust_request = None;
        self.life.broken.get_or_insert(Broken::Closed);
    }

    /// Whether an exhaust stream is still being read.
    pub fn is_exhausting(&self) -> bool {
        self.exhaust_request.is_some()
    }

    fn require_op_msg(&self, what: &str) -> Result<()> {
        if self.hello.supports_op_msg() {
            return Ok(());
        }
        Err(Error::new(ErrorKind::Unsupported {
            message: format!(
                "{what} needs OP_MSG, and {} speaks wire version {} (OP_MSG needs 6)",
                self.address, self.hello.max_wire_version
            ),
        }))
    }
}
