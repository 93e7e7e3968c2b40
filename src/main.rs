//! The wadesk command line: run the gateway and administer it.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tracing_subscriber::{EnvFilter, fmt};
use wadesk::{
    config::{Config, LogFormat},
    server::{self, Core},
    store::{self, entity::vocab::Plan},
};

#[derive(Parser)]
#[command(
    name = "wadesk",
    version,
    about = "Self-hosted WhatsApp messaging gateway"
)]
struct Cli {
    /// Configuration file (default: ./wadesk.toml if present).
    #[arg(long, global = true, env = "WADESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gateway (REST, gRPC and gRPC-web on one port).
    Serve,
    /// Brings the database schema up to date and exits.
    Migrate,
    /// Prints the default configuration, with comments.
    Config,
    /// Prints the OpenAPI document of the REST API.
    Openapi,
    /// Manages accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manages API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manages phones.
    #[command(subcommand)]
    Phone(PhoneCommand),
    /// Runs the WhatsApp protocol simulator on loopback (try the gateway
    /// without a phone; see docs/simulator.md). Only in builds with
    /// `--features sim`.
    Sim {
        /// Websocket address (loopback only).
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: std::net::SocketAddr,
        /// Admin API and media host address (loopback only).
        #[arg(long, default_value = "127.0.0.1:9091")]
        http: std::net::SocketAddr,
        /// HTTPS media host address (loopback only; certificate from the
        /// simulator's own CA, served at /admin/ca.pem).
        #[arg(long, default_value = "127.0.0.1:9092")]
        https: std::net::SocketAddr,
        /// Keeps the simulator's static key across restarts, so linked
        /// clients keep reconnecting with IK.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Creates an account and prints its id and a first API token (shown
    /// once). With --email it can sign in to the console: the password is
    /// asked for on the terminal, or read from standard input.
    Create {
        #[arg(long)]
        name: String,
        /// The email it signs in to the console with.
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input instead
        /// of asking on the terminal.
        #[arg(long, requires = "email")]
        password_stdin: bool,
    },
    /// Sets (or resets) an account's console password, and its email.
    /// Every console session of the account is signed out.
    SetPassword {
        /// Account ID (acc_...).
        #[arg(long)]
        account: String,
        /// A new sign-in email (default: keep the current one, which the
        /// account must then have).
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates an API token for an account and prints it (shown once).
    Create {
        #[arg(long)]
        account: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Expire the token after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Lists an account's tokens (ids and state, never the tokens).
    List {
        #[arg(long)]
        account: String,
    },
    /// Revokes a token by id (tk_...); running servers refuse it within
    /// auth.cache_ms (1 s by default).
    Revoke { token_id: String },
}

#[derive(Subcommand)]
enum PhoneCommand {
    /// Links a phone: shows each QR code in the terminal (through the running
    /// gateway's API) until the phone is connected.
    Pair {
        phone_id: String,
        /// An API token of the phone's account.
        #[arg(long, env = "WADESK_TOKEN")]
        token: String,
        /// The gateway's base URL (default: http:// + server.listen).
        #[arg(long)]
        url: Option<String>,
    },
    /// Sets a phone's plan.
    SetPlan {
        phone_id: String,
        #[arg(value_parser = ["trial", "pro"])]
        plan: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref()).context("reading configuration")?;
    // The server and the simulator log at the configured level; a one-shot
    // CLI command (account, token, phone, migrate) prints its answer and
    // logs only warnings and errors, unless RUST_LOG asks for more.
    let long_running = matches!(cli.command, Command::Serve | Command::Sim { .. });
    init_tracing(&config, long_running);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            Core::open(config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Config => {
            print!("{}", wadesk::config::DEFAULTS);
            Ok(())
        }
        Command::Openapi => {
            let doc = server::openapi_document(config.bulk.max_numbers)?;
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
        Command::Account(cmd) => account(config, cmd).await,
        Command::Token(cmd) => token(config, cmd).await,
        Command::Phone(cmd) => phone(config, cmd).await,
        Command::Sim {
            listen,
            http,
            https,
            key_file,
        } => {
            sim(SimOptions {
                listen,
                http,
                https,
                key_file,
            })
            .await
        }
    }
}

fn init_tracing(config: &Config, long_running: bool) {
    let level = if long_running {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.server.listen;
    let core = Core::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let running = server::spawn(&core, listener).await?;
    tracing::info!(addr = %running.addr, "wadesk listening (gRPC, gRPC-web and REST)");
    stop_signal().await?;
    let drain = core.config.server.drain;
    tracing::info!(
        drain_secs = drain.as_secs_f64(),
        "shutting down (a second signal skips the drain)"
    );
    running
        .stop_after(drain, async {
            let _ = stop_signal().await;
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what service managers and container runtimes send).
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}

async fn account(config: Config, cmd: AccountCommand) -> anyhow::Result<()> {
    let core = Core::open(config).await?;
    match cmd {
        AccountCommand::Create {
            name,
            email,
            password_stdin,
        } => {
            let account = match email {
                Some(email) => {
                    let password = read_password(password_stdin)?;
                    wadesk::accounts::create_with_login(&core.db, &name, &email, &password).await?
                }
                None => store::accounts::create(&core.db, &name).await?,
            };
            let record = store::tokens::create(&core.db, &account.id, "initial", None).await?;
            let token = core.keys.issue(&account.id, &record.id, None)?;
            println!("account: {}", account.id);
            println!("token:   {token}");
            println!("(the token is shown only now; keep it secret)");
            if let Some(email) = &account.email {
                println!(
                    "console: sign in at http://{} as {email}",
                    core.config.server.listen
                );
            }
        }
        AccountCommand::SetPassword {
            account,
            email,
            password_stdin,
        } => {
            let Some(record) = store::accounts::find(&core.db, &account).await? else {
                bail!("no account {account}");
            };
            if email.is_none() && record.email.is_none() {
                bail!("account {account} has no email yet: give one with --email");
            }
            let password = read_password(password_stdin)?;
            wadesk::accounts::set_login(&core.db, &account, email.as_deref(), &password).await?;
            println!("password set for account {account}");
        }
    }
    Ok(())
}

/// The new password: the first line of standard input, or asked twice on
/// the terminal (not echoed).
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _};
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("--password-stdin: standard input had no password on its first line");
        }
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for the password: pass it on standard input with --password-stdin"
        );
    }
    let password = rpassword::prompt_password("Password (10 characters or more): ")?;
    let again = rpassword::prompt_password("Password again: ")?;
    if password != again {
        bail!("the two passwords differ");
    }
    Ok(password)
}

async fn token(config: Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let core = Core::open(config).await?;
    match cmd {
        TokenCommand::Create {
            account,
            name,
            expires_in_days,
        } => {
            if store::accounts::find(&core.db, &account).await?.is_none() {
                bail!("no account {account}");
            }
            let expires_at = expires_in_days
                .map(|days| chrono::Utc::now().timestamp() + i64::from(days) * 86_400);
            let record = store::tokens::create(
                &core.db,
                &account,
                &name,
                expires_at.map(|secs| secs * 1000),
            )
            .await?;
            let token = core.keys.issue(&account, &record.id, expires_at)?;
            println!("token id: {}", record.id);
            println!("token:    {token}");
            println!("(the token is shown only now; keep it secret)");
        }
        TokenCommand::List { account } => {
            for t in store::tokens::list_for_account(&core.db, &account).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.is_some_and(|e| e <= store::now_ms()) {
                    "expired"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}", t.id, state, t.name);
            }
        }
        TokenCommand::Revoke { token_id } => {
            if !store::tokens::revoke(&core.db, &token_id).await? {
                bail!("no active token {token_id}");
            }
            println!(
                "revoked {token_id}; running servers refuse it within auth.cache_ms ({} ms)",
                core.config.auth.cache.as_millis()
            );
        }
    }
    Ok(())
}

async fn phone(config: Config, cmd: PhoneCommand) -> anyhow::Result<()> {
    if let PhoneCommand::Pair {
        phone_id,
        token,
        url,
    } = cmd
    {
        let base = url.unwrap_or_else(|| format!("http://{}", config.server.listen));
        return pair_in_terminal(&base, &phone_id, &token).await;
    }
    let core = Core::open(config).await?;
    match cmd {
        PhoneCommand::Pair { .. } => unreachable!("handled above"),
        PhoneCommand::SetPlan { phone_id, plan } => {
            let phone = store::phones::find(&core.db, &phone_id)
                .await?
                .with_context(|| format!("no phone {phone_id}"))?;
            let plan = match plan.as_str() {
                "pro" => Plan::Pro,
                _ => Plan::Trial,
            };
            let phone = store::phones::set_plan(&core.db, phone, plan).await?;
            println!("{} is now on the {} plan", phone.id, phone.plan);
        }
    }
    Ok(())
}

/// `wadesk sim`'s addresses and key file (read only by a build with the
/// simulator).
#[cfg_attr(not(feature = "sim"), allow(dead_code))]
struct SimOptions {
    listen: std::net::SocketAddr,
    http: std::net::SocketAddr,
    https: std::net::SocketAddr,
    key_file: Option<PathBuf>,
}

#[cfg(feature = "sim")]
async fn sim(o: SimOptions) -> anyhow::Result<()> {
    wadesk_sim::standalone::run(wadesk_sim::standalone::Options {
        listen: o.listen,
        http: o.http,
        https: o.https,
        key_file: o.key_file,
    })
    .await
}

#[cfg(not(feature = "sim"))]
async fn sim(_: SimOptions) -> anyhow::Result<()> {
    bail!(
        "this build of wadesk has no WhatsApp simulator: build it with `--features sim`, or run the `wadesk-sim` program"
    )
}

/// Follows the pairing stream (Server-Sent Events) and draws each QR code.
async fn pair_in_terminal(base: &str, phone_id: &str, token: &str) -> anyhow::Result<()> {
    use futures::StreamExt;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/phones/{phone_id}/qr",
            base.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("reaching the gateway at {base}"))?;
    if !response.status().is_success() {
        bail!(
            "{}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    while let Some(chunk) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let update: serde_json::Value = serde_json::from_str(data.trim())?;
            match update["type"].as_str().unwrap_or_default() {
                "qr" => {
                    let qr = update["qr"].as_str().unwrap_or_default();
                    println!("{}", wadesk::sessions::qr::terminal(qr));
                    println!("Scan with WhatsApp: Settings > Linked devices > Link a device");
                }
                "paired" => println!("Scanned; logging in as {}...", update["number"]),
                "connected" => {
                    println!("Connected as {}.", update["number"]);
                    return Ok(());
                }
                "expired" => bail!("no QR code was scanned in time; run the command again"),
                "failed" => bail!("pairing failed: {}", update["reason"]),
                _ => {}
            }
        }
    }
    bail!("the gateway closed the pairing stream")
}
