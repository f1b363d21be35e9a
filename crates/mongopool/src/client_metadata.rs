//! The `client` document of the handshake: who we are, kept under 512 bytes.
//!
//! Built once per pool (the environment does not change under a running process) and
//! reused for every connection.

use bson::raw::cstr;
use bson::{rawdoc, RawDocumentBuf};

use crate::error::{Error, Result};

/// The largest `client` document a server accepts (handshake spec, "Limitations").
pub const MAX_METADATA_BYTES: usize = 512;
/// The largest application name a server accepts.
pub const MAX_APP_NAME_BYTES: usize = 128;

/// The driver name we report.
pub const DRIVER_NAME: &str = "mongopool";
/// The driver version we report.
pub const DRIVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the handshake tells the server about this client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientMetadata {
    app_name: Option<String>,
    os_type: String,
    os_name: Option<String>,
    os_architecture: Option<String>,
    os_version: Option<String>,
    platform: String,
    env: Option<EnvInfo>,
}

/// `client.env`: FaaS and container detection.
#[derive(Debug, Clone, PartialEq, Default)]
struct EnvInfo {
    name: Option<String>,
    timeout_sec: Option<i32>,
    memory_mb: Option<i32>,
    region: Option<String>,
    container_runtime: Option<String>,
    container_orchestrator: Option<String>,
}

impl ClientMetadata {
    /// Metadata for this process, with an optional application name (at most 128
    /// bytes, else a configuration error, as the spec requires).
    pub fn new(app_name: Option<&str>) -> Result<Self> {
        if let Some(name) = app_name {
            if name.len() > MAX_APP_NAME_BYTES {
                return Err(Error::configuration(format!(
                    "appName is {} bytes; the server accepts at most {MAX_APP_NAME_BYTES}",
                    name.len()
                )));
            }
        }
        Ok(ClientMetadata {
            app_name: app_name.map(str::to_owned),
            os_type: os_type().to_owned(),
            os_name: os_name(),
            os_architecture: Some(std::env::consts::ARCH.to_owned()),
            os_version: os_version(),
            platform: format!("Rust, tokio, {}", std::env::consts::FAMILY),
            env: EnvInfo::detect(|k| std::env::var(k).ok()),
        })
    }

    /// The application name, if one was given.
    pub fn app_name(&self) -> Option<&str> {
        self.app_name.as_deref()
    }

    /// The `client` document, trimmed to at most 512 bytes in the spec's order: env
    /// fields but `env.name`, then os fields but `os.type`, then `env`, then
    /// `platform` is truncated.
    pub fn to_document(&self) -> RawDocumentBuf {
        let mut m = self.clone();
        let steps: [fn(&mut ClientMetadata); 3] = [
            |m| {
                if let Some(env) = &mut m.env {
                    *env = EnvInfo {
                        name: env.name.take(),
                        ..EnvInfo::default()
                    };
                }
            },
            |m| {
                m.os_name = None;
                m.os_architecture = None;
                m.os_version = None;
            },
            |m| m.env = None,
        ];
        let mut doc = m.build();
        for step in steps {
            if doc.as_bytes().len() <= MAX_METADATA_BYTES {
                return doc;
            }
            step(&mut m);
            doc = m.build();
        }
        let excess = doc.as_bytes().len().saturating_sub(MAX_METADATA_BYTES);
        if excess > 0 {
            let mut keep = m.platform.len().saturating_sub(excess);
            while !m.platform.is_char_boundary(keep) {
                keep -= 1;
            }
            m.platform.truncate(keep);
            doc = m.build();
        }
        doc
    }

    fn build(&self) -> RawDocumentBuf {
        let mut doc = RawDocumentBuf::new();
        if let Some(name) = &self.app_name {
            doc.append(cstr!("application"), rawdoc! { "name": name.as_str() });
        }
        doc.append(
            cstr!("driver"),
            rawdoc! { "name": DRIVER_NAME, "version": DRIVER_VERSION },
        );
        let mut os = rawdoc! { "type": self.os_type.as_str() };
        if let Some(v) = &self.os_name {
            os.append(cstr!("name"), v.as_str());
        }
        if let Some(v) = &self.os_architecture {
            os.append(cstr!("architecture"), v.as_str());
        }
        if let Some(v) = &self.os_version {
            os.append(cstr!("version"), v.as_str());
        }
        doc.append(cstr!("os"), os);
        doc.append(cstr!("platform"), self.platform.as_str());
        if let Some(env) = &self.env {
            if let Some(env) = env.to_document() {
                doc.append(cstr!("env"), env);
            }
        }
        doc
    }
}

impl EnvInfo {
    /// Reads the FaaS and container hints from the environment (`var` looks one up).
    fn detect(var: impl Fn(&str) -> Option<String>) -> Option<EnvInfo> {
        let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
        let aws = var("AWS_EXECUTION_ENV").is_some_and(|v| v.starts_with("AWS_Lambda_"))
            || set("AWS_LAMBDA_RUNTIME_API");
        let azure = set("FUNCTIONS_WORKER_RUNTIME");
        let gcp = set("K_SERVICE") || set("FUNCTION_NAME");
        let vercel = set("VERCEL");
        let int = |k: &str| var(k).and_then(|v| v.parse::<i32>().ok());
        let mut env = EnvInfo::default();
        // vercel wins over aws.lambda; any other combination is ambiguous: omit FaaS.
        match (aws, azure, gcp, vercel) {
            (_, false, false, true) => {
                env.name = Some("vercel".into());
                env.region = var("VERCEL_REGION");
            }
            (true, false, false, false) => {
                env.name = Some("aws.lambda".into());
                env.region = var("AWS_REGION");
                env.memory_mb = int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
            }
            (false, true, false, false) => env.name = Some("azure.func".into()),
            (false, false, true, false) => {
                env.name = Some("gcp.func".into());
                env.memory_mb = int("FUNCTION_MEMORY_MB");
                env.timeout_sec = int("FUNCTION_TIMEOUT_SEC");
                env.region = var("FUNCTION_REGION");
            }
            _ => {}
        }
        if std::path::Path::new("/.dockerenv").exists() {
            env.container_runtime = Some("docker".into());
        }
        if set("KUBERNETES_SERVICE_HOST") {
            env.container_orchestrator = Some("kubernetes".into());
        }
        (env != EnvInfo::default()).then_some(env)
    }

    fn to_document(&self) -> Option<RawDocumentBuf> {
        let mut doc = RawDocumentBuf::new();
        if let Some(v) = &self.name {
            doc.append(cstr!("name"), v.as_str());
        }
        if let Some(v) = self.timeout_sec {
            doc.append(cstr!("timeout_sec"), v);
        }
        if let Some(v) = self.memory_mb {
            doc.append(cstr!("memory_mb"), v);
        }
        if let Some(v) = &self.region {
            doc.append(cstr!("region"), v.as_str());
        }
        if self.container_runtime.is_some() || self.container_orchestrator.is_some() {
            let mut c = RawDocumentBuf::new();
            if let Some(v) = &self.container_runtime {
                c.append(cstr!("runtime"), v.as_str());
            }
            if let Some(v) = &self.container_orchestrator {
                c.append(cstr!("orchestrator"), v.as_str());
            }
            doc.append(cstr!("container"), c);
        }
        (!doc.is_empty()).then_some(doc)
    }
}

fn os_type() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        "freebsd" | "openbsd" | "netbsd" | "dragonfly" => "BSD",
        "" => "unknown",
        _ => "Unix",
    }
}

fn os_name() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim_matches('"').to_owned())
    })
}

fn os_version() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(platform_len: usize, env: Option<EnvInfo>) -> ClientMetadata {
        ClientMetadata {
            app_name: Some("app".into()),
            os_type: "Linux".into(),
            os_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            os_architecture: Some("x86_64".into()),
            os_version: Some("6.1.0".into()),
            platform: "é".repeat(platform_len / 2),
            env,
        }
    }

    fn faas() -> EnvInfo {
        EnvInfo {
            name: Some("aws.lambda".into()),
            region: Some("us-east-2".into()),
            memory_mb: Some(1024),
            ..EnvInfo::default()
        }
    }

    #[test]
    fn small_metadata_is_kept_whole() {
        let doc = sample(20, Some(faas())).to_document();
        assert!(doc.as_bytes().len() <= MAX_METADATA_BYTES);
        let env = doc.get_document("env").unwrap();
        assert_eq!(env.get_str("region").unwrap(), "us-east-2");
        assert_eq!(
            doc.get_document("os")
                .unwrap()
                .get_str("architecture")
                .unwrap(),
            "x86_64"
        );
    }

    #[test]
    fn trims_in_the_spec_order() {
        // Just over the limit: only env fields other than name go.
        let mut m = sample(0, Some(faas()));
        while m.build().as_bytes().len() <= MAX_METADATA_BYTES {
            m.platform.push('x');
        }
        let doc = m.to_document();
        assert!(doc.as_bytes().len() <= MAX_METADATA_BYTES);
        let env = doc.get_document("env").unwrap();
        assert_eq!(env.get_str("name").unwrap(), "aws.lambda");
        assert!(env.get("region").unwrap().is_none());
        assert!(doc
            .get_document("os")
            .unwrap()
            .get("name")
            .unwrap()
            .is_some());

        // Far over: everything optional goes and platform is cut on a char boundary.
        let doc = sample(2000, Some(faas())).to_document();
        assert!(doc.as_bytes().len() <= MAX_METADATA_BYTES);
        assert!(doc.get("env").unwrap().is_none());
        let os = doc.get_document("os").unwrap();
        assert_eq!(os.get_str("type").unwrap(), "Linux");
        assert!(os.get("name").unwrap().is_none());
        assert!(doc.get_str("platform").unwrap().len() < 2000);
        assert_eq!(
            doc.get_document("driver").unwrap().get_str("name").unwrap(),
            DRIVER_NAME
        );
    }

    #[test]
    fn app_name_over_128_bytes_is_refused() {
        assert!(ClientMetadata::new(Some(&"a".repeat(129)))
            .unwrap_err()
            .is_configuration());
        let m = ClientMetadata::new(Some(&"a".repeat(128))).unwrap();
        assert!(m.to_document().as_bytes().len() <= MAX_METADATA_BYTES);
    }

    #[test]
    fn faas_detection_follows_the_spec() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let env = EnvInfo::detect(vars(&[
            ("AWS_EXECUTION_ENV", "AWS_Lambda_java8"),
            ("AWS_REGION", "us-east-2"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
        ]))
        .unwrap();
        assert_eq!(env.name.as_deref(), Some("aws.lambda"));
        assert_eq!(env.memory_mb, Some(1024));
        let env =
            EnvInfo::detect(vars(&[("VERCEL", "1"), ("AWS_LAMBDA_RUNTIME_API", "x")])).unwrap();
        assert_eq!(env.name.as_deref(), Some("vercel"));
        // Conflicting providers: no FaaS fields at all.
        let env = EnvInfo::detect(vars(&[
            ("FUNCTIONS_WORKER_RUNTIME", "n"),
            ("K_SERVICE", "s"),
        ]));
        assert!(env.is_none_or(|e| e.name.is_none()));
        // Wrong type: field omitted, no error.
        let env = EnvInfo::detect(vars(&[
            ("AWS_LAMBDA_RUNTIME_API", "x"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "big"),
        ]))
        .unwrap();
        assert_eq!(env.memory_mb, None);
    }
}
