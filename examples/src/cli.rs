//! The demo servers' command line (see the contract): `--addr`, `--drain-timeout-ms`,
//! `--lame-duck-ms`, `--hook-timeout-ms`, `--tls-cert`, `--tls-key`,
//! `--tls-handshake-timeout-ms`, `--control`, `--take-over`, `--pid-file`. A bad option or
//! value is a one-line error naming
//! it and exit code 64 (EX_USAGE), before anything is bound.

use core::net::SocketAddr;
use core::{fmt, time::Duration};
use lameduck::Config;
use std::path::PathBuf;

/// EX_USAGE: the command line was wrong.
///
/// ```
/// assert_eq!(lameduck_examples::cli::EXIT_USAGE, 64);
/// ```
pub const EXIT_USAGE: i32 = 64;

/// The parsed command line.
///
/// ```
/// use lameduck_examples::cli::Options;
/// let options = Options::parse(["--addr", "127.0.0.1:0", "--lame-duck-ms", "250"]).unwrap();
/// assert_eq!(options.lame_duck.as_millis(), 250);
/// assert_eq!(options.drain_timeout.as_secs(), 30);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--addr HOST:PORT` (default `127.0.0.1:8080`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// `--drain-timeout-ms N` (default 30000).
    pub drain_timeout: Duration,
    /// `--lame-duck-ms N` (default 0).
    pub lame_duck: Duration,
    /// `--hook-timeout-ms N` (default 5000; must not be 0).
    pub hook_timeout: Duration,
    /// `--tls-cert PATH` and `--tls-key PATH` (both or neither): serve HTTPS with this
    /// certificate chain and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `--tls-handshake-timeout-ms N` (default 10000; must not be 0).
    pub tls_handshake_timeout: Duration,
    /// `--control PATH`: answer hand-off requests on a Unix socket at PATH.
    pub control: Option<PathBuf>,
    /// `--take-over PATH`: take the listening sockets of the server whose control socket is
    /// PATH, instead of binding `--addr`.
    pub take_over: Option<PathBuf>,
    /// `--pid-file PATH`: write the pid there once serving.
    pub pid_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            drain_timeout: Duration::from_millis(30_000),
            lame_duck: Duration::ZERO,
            hook_timeout: Duration::from_millis(5_000),
            tls: None,
            tls_handshake_timeout: Duration::from_millis(10_000),
            control: None,
            take_over: None,
            pid_file: None,
        }
    }
}

/// What was wrong with the command line; its `Display` is the one-line error.
///
/// ```
/// use lameduck_examples::cli::Options;
/// let error = Options::parse(["--drain-timeout-ms", "soon"]).unwrap_err();
/// assert_eq!(error.to_string(), "invalid value for --drain-timeout-ms: soon (expected milliseconds, a whole number)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// An option no demo knows.
    Unknown(String),
    /// An option given without its value.
    Missing(&'static str),
    /// An option with a value that does not parse.
    Invalid {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An option given without the one it goes with (`--tls-cert` without `--tls-key`).
    Alone {
        /// The option given.
        option: &'static str,
        /// The one missing.
        needs: &'static str,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Unknown(option) => write!(
                f,
                "unknown option {option} (expected --addr, --drain-timeout-ms, --lame-duck-ms, --hook-timeout-ms, --tls-cert, --tls-key, --tls-handshake-timeout-ms, --control, --take-over, --pid-file)"
            ),
            UsageError::Alone { option, needs } => write!(f, "{option} needs {needs} too"),
            UsageError::Missing(option) => write!(f, "missing value for {option}"),
            UsageError::Invalid {
                option,
                value,
                expected,
            } => write!(f, "invalid value for {option}: {value} ({expected})"),
        }
    }
}

impl core::error::Error for UsageError {}

const MILLIS: &str = "expected milliseconds, a whole number";
const ABOVE_ZERO: &str = "expected milliseconds, a whole number above 0";

impl Options {
    /// Parses the arguments after the program name; `--opt value` and `--opt=value` both work.
    ///
    /// # Errors
    ///
    /// The first bad option or value.
    ///
    /// ```
    /// use lameduck_examples::cli::Options;
    /// assert!(Options::parse(["--hook-timeout-ms", "0"]).is_err());
    /// assert!(Options::parse(["--addr=localhost"]).is_err());
    /// ```
    pub fn parse<I, A>(args: I) -> Result<Options, UsageError>
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        Options::parse_over(Options::default(), args)
    }

    /// As [`parse`](Self::parse), with other defaults (the seed's port drains for 2 s).
    ///
    /// # Errors
    ///
    /// The first bad option or value.
    ///
    /// ```
    /// use lameduck_examples::cli::Options;
    /// let defaults = Options { drain_timeout: core::time::Duration::from_secs(2), ..Options::default() };
    /// assert_eq!(Options::parse_over(defaults, Vec::<String>::new()).unwrap().drain_timeout.as_secs(), 2);
    /// ```
    pub fn parse_over<I, A>(defaults: Options, args: I) -> Result<Options, UsageError>
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        let mut options = defaults;
        let (mut cert, mut key) = (None, None);
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    (name.to_owned(), Some(value.to_owned()))
                }
                _ => (arg, None),
            };
            let option: &'static str = match name.as_str() {
                "--addr" => "--addr",
                "--drain-timeout-ms" => "--drain-timeout-ms",
                "--lame-duck-ms" => "--lame-duck-ms",
                "--hook-timeout-ms" => "--hook-timeout-ms",
                "--tls-cert" => "--tls-cert",
                "--tls-key" => "--tls-key",
                "--tls-handshake-timeout-ms" => "--tls-handshake-timeout-ms",
                "--control" => "--control",
                "--take-over" => "--take-over",
                "--pid-file" => "--pid-file",
                _ => return Err(UsageError::Unknown(name)),
            };
            let value = inline
                .or_else(|| args.next())
                .ok_or(UsageError::Missing(option))?;
            let invalid = |expected| UsageError::Invalid {
                option,
                value: value.clone(),
                expected,
            };
            match option {
                "--addr" => {
                    options.addr = value
                        .parse()
                        .map_err(|_| invalid("expected IP:PORT, such as 127.0.0.1:8080"))?;
                }
                "--drain-timeout-ms" => {
                    options.drain_timeout = millis(&value).ok_or_else(|| invalid(MILLIS))?
                }
                "--lame-duck-ms" => {
                    options.lame_duck = millis(&value).ok_or_else(|| invalid(MILLIS))?
                }
                "--tls-cert" => cert = Some(PathBuf::from(value)),
                "--tls-key" => key = Some(PathBuf::from(value)),
                "--tls-handshake-timeout-ms" => {
                    options.tls_handshake_timeout = millis(&value)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| invalid(ABOVE_ZERO))?;
                }
                "--control" | "--take-over" | "--pid-file" => {
                    if value.is_empty() {
                        return Err(invalid("expected a path"));
                    }
                    let path = Some(PathBuf::from(value));
                    match option {
                        "--control" => options.control = path,
                        "--take-over" => options.take_over = path,
                        _ => options.pid_file = path,
                    }
                }
                _ => {
                    options.hook_timeout = millis(&value)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| invalid(ABOVE_ZERO))?;
                }
            }
        }
        options.tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => options.tls,
            (Some(_), None) => {
                return Err(UsageError::Alone {
                    option: "--tls-cert",
                    needs: "--tls-key",
                })
            }
            (None, Some(_)) => {
                return Err(UsageError::Alone {
                    option: "--tls-key",
                    needs: "--tls-cert",
                })
            }
        };
        Ok(options)
    }

    /// Parses the process's arguments, or prints the one-line error and exits with 64.
    ///
    /// ```no_run
    /// let options = lameduck_examples::cli::Options::from_env_or_exit();
    /// println!("listening on {}", options.addr);
    /// ```
    pub fn from_env_or_exit() -> Options {
        Options::from_env_or_exit_over(Options::default())
    }

    /// As [`from_env_or_exit`](Self::from_env_or_exit), with other defaults.
    ///
    /// ```no_run
    /// use lameduck_examples::cli::Options;
    /// let defaults = Options { drain_timeout: core::time::Duration::from_secs(2), ..Options::default() };
    /// let options = Options::from_env_or_exit_over(defaults);
    /// ```
    pub fn from_env_or_exit_over(defaults: Options) -> Options {
        match Options::parse_over(defaults, std::env::args().skip(1)) {
            Ok(options) => options,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(EXIT_USAGE);
            }
        }
    }

    /// The shutdown configuration these options ask for (default signals: INT, TERM, QUIT).
    ///
    /// ```
    /// let config = lameduck_examples::cli::Options::default().config();
    /// assert_eq!(config.drain_timeout.as_secs(), 30);
    /// ```
    pub fn config(&self) -> Config {
        Config::new()
            .drain_timeout(self.drain_timeout)
            .lame_duck(self.lame_duck)
            .hook_timeout(self.hook_timeout)
    }
}

/// Milliseconds as a whole decimal number (no sign, no unit).
fn millis(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_parses_both_ways() {
        let options = Options::parse([
            "--addr",
            "0.0.0.0:0",
            "--drain-timeout-ms=100",
            "--lame-duck-ms",
            "20",
            "--hook-timeout-ms=7",
            "--control",
            "/run/a.sock",
            "--take-over=/run/b.sock",
            "--pid-file",
            "/run/c.pid",
        ])
        .unwrap();
        assert_eq!(options.control, Some(PathBuf::from("/run/a.sock")));
        assert_eq!(options.take_over, Some(PathBuf::from("/run/b.sock")));
        assert_eq!(options.pid_file, Some(PathBuf::from("/run/c.pid")));
        assert_eq!(options.addr, "0.0.0.0:0".parse().unwrap());
        assert_eq!(options.drain_timeout, Duration::from_millis(100));
        assert_eq!(options.lame_duck, Duration::from_millis(20));
        assert_eq!(options.hook_timeout, Duration::from_millis(7));
        let tls = Options::parse([
            "--tls-cert",
            "c.pem",
            "--tls-key=k.pem",
            "--tls-handshake-timeout-ms",
            "300",
        ])
        .unwrap();
        assert_eq!(tls.tls, Some(("c.pem".into(), "k.pem".into())));
        assert_eq!(tls.tls_handshake_timeout, Duration::from_millis(300));
        assert_eq!(Options::parse(Vec::<String>::new()).unwrap().tls, None);
    }

    #[test]
    fn errors_name_the_option() {
        for (args, named) in [
            (&["--drain-timeout-ms", "soon"][..], "--drain-timeout-ms"),
            (&["--lame-duck-ms", "-1"][..], "--lame-duck-ms"),
            (&["--hook-timeout-ms", "0"][..], "--hook-timeout-ms"),
            (&["--addr", "nowhere"][..], "--addr"),
            (&["--addr"][..], "--addr"),
            (&["--control"][..], "--control"),
            (&["--take-over="][..], "--take-over"),
            (&["--pid-file", ""][..], "--pid-file"),
            (&["--verbose"][..], "--verbose"),
            (&["--tls-cert", "c.pem"][..], "--tls-cert"),
            (&["--tls-key", "k.pem"][..], "--tls-key"),
            (
                &["--tls-handshake-timeout-ms", "0"][..],
                "--tls-handshake-timeout-ms",
            ),
        ] {
            let error = Options::parse(args.iter().copied())
                .unwrap_err()
                .to_string();
            assert!(error.contains(named), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
