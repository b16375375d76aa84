//! `sluice serve` configuration: defaults < TOML file < `SLUICE_*` environment < flags.
//!
//! Each source is read into a [`Layer`] of optional values and the layers are applied in order
//! onto [`ServeConfig::default`]. The environment is passed in as a lookup function so tests can
//! layer without touching the process environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sluice_api::ServeConfig;

/// Flags of `sluice serve`. None of them read the environment through clap: the `SLUICE_*`
/// variables are a layer of their own, below flags and above the file.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env: SLUICE_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded database [default: ./sluice-data; env: SLUICE_DATA_DIR].
    #[arg(long, value_name = "DIR", conflicts_with = "database_url")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL instead of the embedded database [env: SLUICE_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Freeze the engine's clock at this RFC 3339 instant; move it with `sluice clock`
    /// [env: SLUICE_TEST_CLOCK].
    #[arg(long, value_name = "RFC3339")]
    pub test_clock: Option<jiff::Timestamp>,
    /// TOML config file [env: SLUICE_CONFIG]. Keys: listen, data_dir, database_url, test_clock,
    /// max_body_bytes, max_import_bytes, metrics_listen, retry_base, retry_max, max_attempts,
    /// delivery_timeout, shutdown_grace, session_lifetime, secure_cookies.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Largest JSON request body [default: 1048576; env: SLUICE_MAX_BODY_BYTES].
    #[arg(long, value_name = "N")]
    pub max_body_bytes: Option<usize>,
    /// Largest profile import body [default: 268435456; env: SLUICE_MAX_IMPORT_BYTES].
    #[arg(long, value_name = "N")]
    pub max_import_bytes: Option<usize>,
    /// Serve /metrics on this address instead of on --listen [env: SLUICE_METRICS_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// First retry's back-off ceiling, doubling per attempt; real time, ISO 8601
    /// [default: PT2S; env: SLUICE_RETRY_BASE].
    #[arg(long, value_name = "DURATION")]
    pub retry_base: Option<RealDuration>,
    /// Longest back-off between retries [default: PT10M; env: SLUICE_RETRY_MAX].
    #[arg(long, value_name = "DURATION")]
    pub retry_max: Option<RealDuration>,
    /// Tries of a retryable delivery before it is recorded failed [default: 5;
    /// env: SLUICE_MAX_ATTEMPTS].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Longest one delivery may take whatever its channel does, then it is retried
    /// [default: PT90S; env: SLUICE_DELIVERY_TIMEOUT].
    #[arg(long, value_name = "DURATION")]
    pub delivery_timeout: Option<RealDuration>,
    /// At SIGTERM, how long work in hand may take to finish before what is still in flight
    /// is given back for the next start; the process exits within this and 5 s more
    /// [default: PT5S; env: SLUICE_SHUTDOWN_GRACE].
    #[arg(long, value_name = "DURATION")]
    pub shutdown_grace: Option<RealDuration>,
    /// How long a web UI sign-in lasts; real time [default: PT12H;
    /// env: SLUICE_SESSION_LIFETIME].
    #[arg(long, value_name = "DURATION")]
    pub session_lifetime: Option<RealDuration>,
    /// When the web UI's session cookie is marked Secure: `auto` when a proxy in front says
    /// `X-Forwarded-Proto: https`, `always` or `never` [default: auto;
    /// env: SLUICE_SECURE_COOKIES].
    #[arg(long, value_name = "WHEN")]
    pub secure_cookies: Option<sluice_web::SecureCookies>,
}

/// A span of real time written in ISO 8601 with hours, minutes and seconds (`PT2S`, `PT1M30S`):
/// days and months are calendar units, which real-time settings have no use for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealDuration(pub std::time::Duration);

impl FromStr for RealDuration {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let iso = sluice_core::duration::IsoDuration::parse(s)?;
        jiff::SignedDuration::try_from(iso.as_span())
            .ok()
            .and_then(|d| std::time::Duration::try_from(d).ok())
            .map(RealDuration)
            .ok_or_else(|| {
                format!(
                    "`{}`: use hours, minutes and seconds (PT2S, PT1M30S)",
                    s.trim()
                )
            })
    }
}

/// Values one source sets; `None` leaves the value of the layers below.
#[derive(Debug, Default, Clone, PartialEq)]
struct Layer {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    test_clock: Option<jiff::Timestamp>,
    admin_token: Option<String>,
    max_body_bytes: Option<usize>,
    max_import_bytes: Option<usize>,
    metrics_listen: Option<SocketAddr>,
    retry_base: Option<RealDuration>,
    retry_max: Option<RealDuration>,
    max_attempts: Option<u32>,
    delivery_timeout: Option<RealDuration>,
    shutdown_grace: Option<RealDuration>,
    session_lifetime: Option<RealDuration>,
    secure_cookies: Option<sluice_web::SecureCookies>,
}

/// The config file's shape. `deny_unknown_fields` makes a typo an error naming the key.
/// `test_clock` is a `toml::Value` so both `"2026-01-01T00:00:00Z"` and an unquoted TOML
/// datetime work.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    test_clock: Option<toml::Value>,
    max_body_bytes: Option<usize>,
    max_import_bytes: Option<usize>,
    metrics_listen: Option<String>,
    retry_base: Option<String>,
    retry_max: Option<String>,
    max_attempts: Option<u32>,
    delivery_timeout: Option<String>,
    shutdown_grace: Option<String>,
    session_lifetime: Option<String>,
    secure_cookies: Option<String>,
}

/// Resolves the full configuration. `env` looks up an environment variable.
pub fn resolve(args: &ServeArgs, env: impl Fn(&str) -> Option<String>) -> Result<ServeConfig> {
    let mut config = ServeConfig::default();
    let file = args.config.clone().or_else(|| {
        env("SLUICE_CONFIG")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = file {
        apply(&mut config, read_file_layer(&path)?);
    }
    apply(&mut config, env_layer(&env)?);
    apply(&mut config, flag_layer(args));
    Ok(config)
}

fn read_file_layer(path: &Path) -> Result<Layer> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    file_layer(&text).with_context(|| format!("config file {}", path.display()))
}

fn file_layer(text: &str) -> Result<Layer> {
    // toml's message for an unknown key names it: "unknown field `lisen`, expected one of …".
    let f: FileConfig = toml::from_str(text)?;
    exclusive_storage(
        f.data_dir.is_some(),
        f.database_url.is_some(),
        "data_dir",
        "database_url",
    )?;
    let test_clock = match f.test_clock {
        None => None,
        Some(toml::Value::String(s)) => Some(parse("test_clock", &s)?),
        Some(toml::Value::Datetime(d)) => Some(parse("test_clock", &d.to_string())?),
        Some(other) => bail!("test_clock: expected an RFC 3339 time, got {other}"),
    };
    Ok(Layer {
        listen: f.listen.map(|s| parse("listen", &s)).transpose()?,
        data_dir: f.data_dir,
        database_url: f.database_url,
        test_clock,
        admin_token: None,
        max_body_bytes: f.max_body_bytes,
        max_import_bytes: f.max_import_bytes,
        metrics_listen: f
            .metrics_listen
            .map(|s| parse("metrics_listen", &s))
            .transpose()?,
        retry_base: f.retry_base.map(|s| parse("retry_base", &s)).transpose()?,
        retry_max: f.retry_max.map(|s| parse("retry_max", &s)).transpose()?,
        max_attempts: f.max_attempts,
        delivery_timeout: f
            .delivery_timeout
            .map(|s| parse("delivery_timeout", &s))
            .transpose()?,
        shutdown_grace: f
            .shutdown_grace
            .map(|s| parse("shutdown_grace", &s))
            .transpose()?,
        session_lifetime: f
            .session_lifetime
            .map(|s| parse("session_lifetime", &s))
            .transpose()?,
        secure_cookies: f
            .secure_cookies
            .map(|s| parse("secure_cookies", &s))
            .transpose()?,
    })
}

fn env_layer(env: &impl Fn(&str) -> Option<String>) -> Result<Layer> {
    // An empty variable counts as unset, as `VAR= sluice serve` is how people clear one.
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    let layer = Layer {
        listen: get("SLUICE_LISTEN")
            .map(|v| parse("SLUICE_LISTEN", &v))
            .transpose()?,
        data_dir: get("SLUICE_DATA_DIR").map(PathBuf::from),
        database_url: get("SLUICE_DATABASE_URL"),
        test_clock: get("SLUICE_TEST_CLOCK")
            .map(|v| parse("SLUICE_TEST_CLOCK", &v))
            .transpose()?,
        admin_token: get("SLUICE_ADMIN_TOKEN"),
        max_body_bytes: get("SLUICE_MAX_BODY_BYTES")
            .map(|v| parse("SLUICE_MAX_BODY_BYTES", &v))
            .transpose()?,
        max_import_bytes: get("SLUICE_MAX_IMPORT_BYTES")
            .map(|v| parse("SLUICE_MAX_IMPORT_BYTES", &v))
            .transpose()?,
        metrics_listen: get("SLUICE_METRICS_LISTEN")
            .map(|v| parse("SLUICE_METRICS_LISTEN", &v))
            .transpose()?,
        retry_base: get("SLUICE_RETRY_BASE")
            .map(|v| parse("SLUICE_RETRY_BASE", &v))
            .transpose()?,
        retry_max: get("SLUICE_RETRY_MAX")
            .map(|v| parse("SLUICE_RETRY_MAX", &v))
            .transpose()?,
        max_attempts: get("SLUICE_MAX_ATTEMPTS")
            .map(|v| parse("SLUICE_MAX_ATTEMPTS", &v))
            .transpose()?,
        delivery_timeout: get("SLUICE_DELIVERY_TIMEOUT")
            .map(|v| parse("SLUICE_DELIVERY_TIMEOUT", &v))
            .transpose()?,
        shutdown_grace: get("SLUICE_SHUTDOWN_GRACE")
            .map(|v| parse("SLUICE_SHUTDOWN_GRACE", &v))
            .transpose()?,
        session_lifetime: get("SLUICE_SESSION_LIFETIME")
            .map(|v| parse("SLUICE_SESSION_LIFETIME", &v))
            .transpose()?,
        secure_cookies: get("SLUICE_SECURE_COOKIES")
            .map(|v| parse("SLUICE_SECURE_COOKIES", &v))
            .transpose()?,
    };
    exclusive_storage(
        layer.data_dir.is_some(),
        layer.database_url.is_some(),
        "SLUICE_DATA_DIR",
        "SLUICE_DATABASE_URL",
    )?;
    Ok(layer)
}

fn flag_layer(args: &ServeArgs) -> Layer {
    // clap already refuses --data-dir together with --database-url.
    Layer {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        test_clock: args.test_clock,
        admin_token: None,
        max_body_bytes: args.max_body_bytes,
        max_import_bytes: args.max_import_bytes,
        metrics_listen: args.metrics_listen,
        retry_base: args.retry_base,
        retry_max: args.retry_max,
        max_attempts: args.max_attempts,
        delivery_timeout: args.delivery_timeout,
        shutdown_grace: args.shutdown_grace,
        session_lifetime: args.session_lifetime,
        secure_cookies: args.secure_cookies,
    }
}

/// Within one source, naming both storages is a mistake worth stopping for.
fn exclusive_storage(dir: bool, url: bool, dir_name: &str, url_name: &str) -> Result<()> {
    if dir && url {
        bail!("set either {dir_name} or {url_name}, not both");
    }
    Ok(())
}

fn apply(config: &mut ServeConfig, layer: Layer) {
    if let Some(v) = layer.listen {
        config.listen = v;
    }
    // The storage is one choice: a higher source that picks one overrides the other choice
    // made below it (a `--data-dir` flag beats a database_url in the file).
    if let Some(v) = layer.data_dir {
        config.data_dir = v;
        config.database_url = None;
    }
    if let Some(v) = layer.database_url {
        config.database_url = Some(v);
    }
    if let Some(v) = layer.test_clock {
        config.test_clock = Some(v);
    }
    if let Some(v) = layer.admin_token {
        config.admin_token = Some(v);
    }
    if let Some(v) = layer.max_body_bytes {
        config.max_body_bytes = v;
    }
    if let Some(v) = layer.max_import_bytes {
        config.max_import_bytes = v;
    }
    if let Some(v) = layer.metrics_listen {
        config.metrics_listen = Some(v);
    }
    let engine = &mut config.engine;
    if let Some(RealDuration(v)) = layer.retry_base {
        engine.retry_base = v;
    }
    if let Some(RealDuration(v)) = layer.retry_max {
        engine.retry_max = v;
    }
    if let Some(v) = layer.max_attempts {
        engine.max_attempts = v.max(1);
    }
    if let Some(RealDuration(v)) = layer.delivery_timeout {
        engine.delivery_timeout = v;
    }
    if let Some(RealDuration(v)) = layer.shutdown_grace {
        engine.shutdown_grace = v;
    }
    if let Some(RealDuration(v)) = layer.session_lifetime {
        config.web.session_lifetime = v;
    }
    if let Some(v) = layer.secure_cookies {
        config.web.secure_cookies = v;
    }
}

fn parse<T>(name: &str, value: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{name}: invalid value {value:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// `ServeConfig` is not `Debug`, so `unwrap_err` is not available.
    fn err_of(r: Result<ServeConfig>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn with_file(text: &str) -> (tempfile::TempDir, ServeArgs) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, text).unwrap();
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        (dir, args)
    }

    #[test]
    fn defaults_without_any_source() {
        let c = resolve(&ServeArgs::default(), env_of(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./sluice-data"));
        assert_eq!(c.max_body_bytes, 1 << 20);
        assert_eq!(c.max_import_bytes, 256 << 20);
        assert!(c.database_url.is_none() && c.test_clock.is_none() && c.admin_token.is_none());
    }

    #[test]
    fn file_then_env_then_flags() {
        let (_dir, mut args) = with_file(
            r#"
            listen = "0.0.0.0:9000"
            data_dir = "/var/lib/sluice"
            max_body_bytes = 2048
            max_import_bytes = 4096
            test_clock = 2026-01-01T00:00:00Z
            metrics_listen = "127.0.0.1:9100"
            "#,
        );
        let env = env_of(&[
            ("SLUICE_LISTEN", "127.0.0.1:9001"),
            ("SLUICE_MAX_BODY_BYTES", "4096"),
            ("SLUICE_ADMIN_TOKEN", "s3cret"),
        ]);
        args.listen = Some("127.0.0.1:9002".parse().unwrap());
        let c = resolve(&args, env).unwrap();
        assert_eq!(
            c.listen.to_string(),
            "127.0.0.1:9002",
            "flag beats env and file"
        );
        assert_eq!(c.max_body_bytes, 4096, "env beats file");
        assert_eq!(c.max_import_bytes, 4096, "file beats default");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/sluice"));
        assert_eq!(c.admin_token.as_deref(), Some("s3cret"));
        assert_eq!(c.test_clock.unwrap().to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(c.metrics_listen.unwrap().to_string(), "127.0.0.1:9100");
    }

    #[test]
    fn config_path_from_env() {
        let (dir, _) = with_file("listen = \"127.0.0.1:7000\"\n");
        let path = dir.path().join("sluice.toml");
        let env = env_of(&[("SLUICE_CONFIG", path.to_str().unwrap())]);
        let c = resolve(&ServeArgs::default(), env).unwrap();
        assert_eq!(c.listen.port(), 7000);
    }

    #[test]
    fn unknown_key_is_named() {
        let (_dir, args) = with_file("lisen = \"127.0.0.1:1\"\n");
        let err = err_of(resolve(&args, env_of(&[])));
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn bad_values_name_their_source() {
        let err = err_of(resolve(
            &ServeArgs::default(),
            env_of(&[("SLUICE_LISTEN", "nope")]),
        ));
        assert!(err.contains("SLUICE_LISTEN"), "{err}");
        let (_dir, args) = with_file("test_clock = \"yesterday\"\n");
        let err = err_of(resolve(&args, env_of(&[])));
        assert!(err.contains("test_clock"), "{err}");
    }

    #[test]
    fn storage_choice_follows_precedence() {
        let (_dir, mut args) = with_file("database_url = \"postgres://db/sluice\"\n");
        let c = resolve(&args, env_of(&[])).unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://db/sluice"));
        args.data_dir = Some(PathBuf::from("/tmp/d"));
        let c = resolve(&args, env_of(&[])).unwrap();
        assert_eq!(
            c.database_url, None,
            "a --data-dir flag overrides the file's database"
        );
        assert_eq!(c.data_dir, PathBuf::from("/tmp/d"));

        let (_dir, args) = with_file("data_dir = \"a\"\ndatabase_url = \"postgres://x\"\n");
        assert!(resolve(&args, env_of(&[])).is_err(), "both in one source");
    }

    #[test]
    fn engine_settings_in_real_time_from_every_source() {
        let (_dir, mut args) =
            with_file("retry_base = \"PT1S\"\nmax_attempts = 3\nshutdown_grace = \"PT20S\"\n");
        let env = env_of(&[
            ("SLUICE_DELIVERY_TIMEOUT", "PT2M"),
            ("SLUICE_RETRY_MAX", "PT1H"),
        ]);
        args.shutdown_grace = Some("PT1S".parse().unwrap());
        let c = resolve(&args, env).unwrap();
        let e = &c.engine;
        assert_eq!(e.retry_base, std::time::Duration::from_secs(1));
        assert_eq!(e.retry_max, std::time::Duration::from_secs(3600));
        assert_eq!(e.max_attempts, 3);
        assert_eq!(e.delivery_timeout, std::time::Duration::from_secs(120));
        assert_eq!(
            e.shutdown_grace,
            std::time::Duration::from_secs(1),
            "flag beats file"
        );
        let err = err_of(resolve(
            &ServeArgs::default(),
            env_of(&[("SLUICE_RETRY_BASE", "P1D")]),
        ));
        assert!(
            err.contains("SLUICE_RETRY_BASE") && err.contains("PT2S"),
            "{err}"
        );
        let err = err_of(resolve(
            &ServeArgs::default(),
            env_of(&[("SLUICE_DELIVERY_TIMEOUT", "90")]),
        ));
        assert!(err.contains("SLUICE_DELIVERY_TIMEOUT"), "{err}");
    }

    #[test]
    fn web_settings_from_every_source() {
        let c = resolve(&ServeArgs::default(), env_of(&[])).unwrap();
        assert_eq!(
            c.web.session_lifetime,
            std::time::Duration::from_secs(12 * 3600)
        );
        assert_eq!(c.web.secure_cookies, sluice_web::SecureCookies::Auto);
        let (_dir, mut args) =
            with_file("session_lifetime = \"PT8H\"\nsecure_cookies = \"always\"\n");
        let c = resolve(&args, env_of(&[("SLUICE_SECURE_COOKIES", "never")])).unwrap();
        assert_eq!(
            c.web.session_lifetime,
            std::time::Duration::from_secs(8 * 3600)
        );
        assert_eq!(
            c.web.secure_cookies,
            sluice_web::SecureCookies::Never,
            "env beats file"
        );
        args.session_lifetime = Some("PT30M".parse().unwrap());
        let c = resolve(&args, env_of(&[])).unwrap();
        assert_eq!(
            c.web.session_lifetime,
            std::time::Duration::from_secs(1800),
            "flag"
        );
        let err = err_of(resolve(
            &ServeArgs::default(),
            env_of(&[("SLUICE_SECURE_COOKIES", "sometimes")]),
        ));
        assert!(err.contains("SLUICE_SECURE_COOKIES"), "{err}");
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let c = resolve(&ServeArgs::default(), env_of(&[("SLUICE_LISTEN", "")])).unwrap();
        assert_eq!(c.listen.port(), 8080);
    }
}
