//! Temporary entry point until the CLI lands.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut config = sluice_api::ServeConfig::default();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--listen") {
        config.listen = args[i + 1].parse()?;
    }
    if let Some(i) = args.iter().position(|a| a == "--data-dir") {
        config.data_dir = args[i + 1].clone().into();
    }
    if let Some(i) = args.iter().position(|a| a == "--test-clock") {
        config.test_clock = Some(args[i + 1].parse()?);
    }
    config.admin_token = std::env::var("SLUICE_ADMIN_TOKEN").ok();
    sluice_api::serve(config).await
}
