//! Command-line arguments.

/// How to use the tool.
pub const USAGE: &str = "\
usage:
  mongopool ping --uri URI [--count N]
  mongopool run-command --uri URI [--db DB] COMMAND_JSON
  mongopool --help

URI is a MongoDB connection string (mongodb://host:port/?options).
COMMAND_JSON is a command document in extended JSON, e.g. '{\"serverStatus\": 1}'.
The reply is printed as relaxed extended JSON.";

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Round trips of `ping`.
    Ping {
        /// The connection string.
        uri: String,
        /// How many pings.
        count: u32,
    },
    /// One command.
    RunCommand {
        /// The connection string.
        uri: String,
        /// The database to run it on.
        db: String,
        /// The command, as extended JSON.
        command: String,
    },
}

/// The outcome of parsing.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Print this and exit.
    Help(&'static str),
    /// Run this.
    Command(Command),
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let Some(sub) = args.next() else {
        return Err("no command given".into());
    };
    if sub == "--help" || sub == "-h" || sub == "help" {
        return Ok(Parsed::Help(USAGE));
    }
    let mut uri = None;
    let mut db = None;
    let mut count = None;
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(Parsed::Help(USAGE)),
            "--uri" => uri = Some(value("--uri")?),
            "--db" => db = Some(value("--db")?),
            "--count" => {
                let v = value("--count")?;
                let n: u32 =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--count takes a positive whole number, not {v:?}")
                    })?;
                count = Some(n);
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => positional.push(arg),
        }
    }
    let uri = uri.ok_or("--uri is required")?;
    match sub.as_str() {
        "ping" => {
            if db.is_some() || !positional.is_empty() {
                return Err("ping takes only --uri and --count".into());
            }
            Ok(Parsed::Command(Command::Ping {
                uri,
                count: count.unwrap_or(1),
            }))
        }
        "run-command" => {
            if count.is_some() {
                return Err("run-command does not take --count".into());
            }
            let [command] = <[String; 1]>::try_from(positional)
                .map_err(|_| "run-command takes exactly one command document".to_string())?;
            Ok(Parsed::Command(Command::RunCommand {
                uri,
                db: db.unwrap_or_else(|| "admin".into()),
                command,
            }))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_both_commands() {
        assert_eq!(
            p(&["ping", "--uri", "mongodb://h"]).unwrap(),
            Parsed::Command(Command::Ping {
                uri: "mongodb://h".into(),
                count: 1
            })
        );
        assert_eq!(
            p(&["run-command", "--uri", "u", "--db", "x", "{}"]).unwrap(),
            Parsed::Command(Command::RunCommand {
                uri: "u".into(),
                db: "x".into(),
                command: "{}".into()
            })
        );
        assert_eq!(p(&["--help"]).unwrap(), Parsed::Help(USAGE));
    }

    #[test]
    fn refuses_bad_arguments() {
        for bad in [
            &[][..],
            &["ping"],
            &["ping", "--uri"],
            &["ping", "--uri", "u", "--count", "0"],
            &["ping", "--uri", "u", "extra"],
            &["run-command", "--uri", "u"],
            &["run-command", "--uri", "u", "{}", "{}"],
            &["frobnicate", "--uri", "u"],
            &["ping", "--uri", "u", "--bogus"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
