//! One listener for gRPC (h2c), gRPC-web and REST.
//!
//! Requests whose content-type starts with `application/grpc` go to the
//! tonic services (behind the gRPC-web translation and the auth layer);
//! everything else goes to the REST gateway, which calls the very same
//! stack in process, so authentication and limits are one code path.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Json, Router,
    body::Body,
    response::{IntoResponse, Response},
    routing::get,
};
use http::{HeaderName, Request, StatusCode};
use sea_orm::DatabaseConnection;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

mod console;
mod input;
mod listen;
mod openapi;
mod request_id;

pub use console::CONTENT_SECURITY_POLICY;
pub use openapi::openapi_document;

use crate::{
    api::{self, State},
    auth::{self, Authenticator, Keys, Limiter},
    bot,
    config::Config,
    health::Health,
    metrics::{
        Metrics,
        http::{GrpcLayer, GrpcMethods, Protocol, RouteNames},
        scrape::Scrape,
    },
    proto::{
        account_service_server::AccountServiceServer, bot_service_server::BotServiceServer,
        bulk_service_server::BulkServiceServer, contact_service_server::ContactServiceServer,
        group_service_server::GroupServiceServer, media_service_server::MediaServiceServer,
        message_service_server::MessageServiceServer, phone_service_server::PhoneServiceServer,
        profile_service_server::ProfileServiceServer, send_service_server::SendServiceServer,
        webhook_service_server::WebhookServiceServer,
    },
    sealed::{KeyBox, Purpose},
    sessions::SessionManager,
    store, webhooks,
};

/// The encoded descriptors of proto/, with google.api.http options and
/// comments: read by the gateway, reflection and OpenAPI.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/wadesk_descriptor.bin"));

/// What every command that touches storage needs.
pub struct Core {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub sessions: Arc<SessionManager>,
    /// Guarded HTTP client for caller-given URLs.
    pub fetcher: crate::fetch::Fetcher,
    /// The root of the process's cancellation tree: cancelled when the
    /// server stops. Long-lived streams end on it (so a graceful shutdown
    /// does not wait for subscribers forever); every worker runs on a child.
    pub shutdown: CancellationToken,
    /// Every background task not owned by a worker (the event tail, event
    /// streams, the status writer, answers on their way): awaited at stop.
    pub tasks: TaskTracker,
    /// What health checks answer.
    pub health: Health,
    /// Webhook delivery settings, checked at start-up.
    pub webhook_settings: webhooks::Settings,
    /// Wakes the webhook worker when a webhook changes.
    pub webhook_kick: webhooks::Kick,
    /// The campaign workers (started by [`spawn`]).
    pub bulk: crate::bulk::Engine,
    /// New events, read once per append, for live streams.
    pub tail: store::events::Tail,
    /// The event log: every append of this process goes through it.
    pub events: store::events::EventLog,
    /// The one send path (API, campaigns, bot).
    pub sender: crate::send::Sender,
    /// Files uploaded to send later.
    pub uploads: crate::uploads::Uploads,
    /// Bot settings, checked at start-up.
    pub bot_settings: bot::Settings,
    /// Encrypts the bots' api keys (derived from the server secret).
    pub bot_keys: KeyBox,
    /// Encrypts the webhooks' signing secrets (derived from the server secret).
    pub webhook_keys: KeyBox,
    /// Wakes the bot worker when a bot changes.
    pub bot_kick: bot::Kick,
    /// This process's metrics (its own registry: see [`crate::metrics`]).
    pub metrics: Metrics,
}

impl Core {
    /// Opens (and migrates) the database and loads the signing secret.
    pub async fn open(config: Config) -> anyhow::Result<Core> {
        config.validate().context("checking the configuration")?;
        crate::sessions::engine::check_server_url(&config.whatsapp.server_url)?;
        store::files::private_dir(&config.data_dir)?;
        let db = store::connect(&config.database_url())
            .await
            .context("opening the database")?;
        let secret = auth::secret::load_or_create(&config.auth.secret, &config.data_dir)?;
        let fetcher = crate::fetch::Fetcher::new(&config.fetch)?;
        let webhook_settings = webhooks::Settings::from_config(&config.webhooks)?;
        let bulk_settings = crate::bulk::Settings::from_config(&config.bulk, &config.sheets)?;
        let events = store::events::EventLog::new(db.clone());
        let tasks = TaskTracker::new();
        let metrics = Metrics::new(config.metrics.per_phone);
        let sessions = SessionManager::new(events.clone(), &config, tasks.clone(), &metrics);
        let uploads =
            crate::uploads::Uploads::new(db.clone(), &config.data_dir, config.uploads.clone());
        let sender = crate::send::Sender::new(
            db.clone(),
            sessions.clone(),
            fetcher.clone(),
            uploads.clone(),
            metrics.clone(),
        );
        let shutdown = CancellationToken::new();
        uploads.spawn_sweeper(shutdown.child_token());
        let tail = store::events::Tail::start(&events, shutdown.child_token(), &tasks)
            .await
            .context("reading the event log")?;
        let health = Health::new(service_names()?, db.clone()).await;
        let bulk = crate::bulk::Engine::new(
            events.clone(),
            fetcher.clone(),
            sender.clone(),
            sessions.clone(),
            bulk_settings,
            shutdown.child_token(),
        );
        let bot_settings = bot::Settings::from_config(&config.bot)?;
        let webhook_keys = KeyBox::new(&secret, Purpose::WebhookSecret);
        webhooks::seal_stored_secrets(&db, &webhook_keys)
            .await
            .context("sealing webhook secrets stored in plain text")?;
        Ok(Core {
            bot_settings,
            bot_keys: KeyBox::new(&secret, Purpose::BotApiKey),
            webhook_keys,
            bot_kick: bot::Kick::default(),
            keys: Arc::new(Keys::new(&secret)),
            fetcher,
            shutdown,
            tasks,
            health,
            webhook_settings,
            webhook_kick: webhooks::Kick::default(),
            sessions,
            bulk,
            tail,
            events,
            sender,
            uploads,
            metrics,
            config: Arc::new(config),
            db,
        })
    }
}

/// The whole HTTP application: REST, gRPC and gRPC-web.
pub fn app(core: &Core) -> anyhow::Result<Router> {
    let limiter = Arc::new(Limiter::per_minute(core.config.limits.requests_per_minute));
    let failures = Arc::new(Limiter::per_minute(
        core.config.limits.auth_failures_per_minute,
    ));
    let authenticator = Authenticator::new(
        core.db.clone(),
        core.keys.clone(),
        limiter,
        failures,
        core.config.auth.cache,
    );
    let accounts = crate::accounts::Accounts::new(
        core.db.clone(),
        core.keys.clone(),
        core.config.accounts.clone(),
    );
    let state = State {
        accounts: accounts.clone(),
        auth: authenticator.clone(),
        chats: crate::chats::Chats::new(core.db.clone(), core.sessions.clone()),
        contacts: crate::contacts::Contacts::new(core.db.clone(), core.sessions.clone()),
        profiles: crate::profile::Profiles::new(core.sessions.clone(), core.fetcher.clone()),
        groups: crate::groups::Groups::new(core.sessions.clone()),
        db: core.db.clone(),
        config: core.config.clone(),
        sessions: core.sessions.clone(),
        phones: crate::phones::Phones::new(core.db.clone(), core.sessions.clone()),
        fetcher: core.fetcher.clone(),
        shutdown: core.shutdown.clone(),
        tasks: core.tasks.clone(),
        webhooks: webhooks::Webhooks::new(
            core.db.clone(),
            core.fetcher.clone(),
            core.webhook_kick.clone(),
            core.webhook_keys.clone(),
        ),
        bulk: core.bulk.clone(),
        tail: core.tail.clone(),
        sender: core.sender.clone(),
        uploads: core.uploads.clone(),
        bot: bot::setup::Bots::new(
            core.db.clone(),
            core.bot_settings.clone(),
            core.bot_keys.clone(),
            core.bot_kick.clone(),
        ),
    };

    // Both reflection versions: grpcurl speaks v1, Python's official
    // grpcio-reflection client only v1alpha.
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building gRPC reflection")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("building gRPC reflection (v1alpha)")?;
    // One gRPC message is held to the REST body limit.
    let max = core.config.server.max_body_bytes;
    let routes = tonic::service::Routes::new(
        SendServiceServer::new(api::SendApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(BulkServiceServer::new(api::BulkApi(state.clone())).max_decoding_message_size(max))
    .add_service(
        PhoneServiceServer::new(api::PhoneApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(
        WebhookServiceServer::new(api::WebhookApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(BotServiceServer::new(api::BotApi(state.clone())).max_decoding_message_size(max))
    .add_service(
        MessageServiceServer::new(api::MessageApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(
        AccountServiceServer::new(api::AccountApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(
        MediaServiceServer::new(api::MediaApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(
        ContactServiceServer::new(api::ContactApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(
        ProfileServiceServer::new(api::ProfileApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(
        GroupServiceServer::new(api::GroupApi(state.clone())).max_decoding_message_size(max),
    )
    .add_service(core.health.grpc())
    .add_service(reflection)
    .add_service(reflection_v1alpha)
    .prepare();
    let grpc = ServiceBuilder::new()
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(GrpcLayer::new(core.metrics.clone(), grpc_methods()?))
        .layer(auth::AuthLayer::new(authenticator.clone()))
        .map_response(missing_message_is_invalid_argument)
        .map_response(oversized_message_is_resource_exhausted)
        .service(routes);

    let server = &core.config.server;
    let gateway = gateway()?
        .with_body_limit(server.max_body_bytes)
        .with_max_json_depth(server.max_json_depth)
        .with_max_list_items(server.max_list_items);
    let route_names = RouteNames::new(gateway.routes());
    let openapi = Arc::new(openapi_document(core.config.bulk.max_numbers)?);
    let rest = gateway
        .router(grpc.clone())
        // Files to POST /api/media that are not JSON (multipart, raw).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::upload_files,
        ))
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route(
            "/api/phones/{phone_id}/messages/{message_id}/media",
            get(api::inbound_media).with_state(api::DownloadState {
                api: state.clone(),
                auth: authenticator,
            }),
        )
        // Liveness: the process runs and answers.
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        // Readiness: see health.rs.
        .route("/readyz", {
            let health = core.health.clone();
            get(move || {
                let health = health.clone();
                async move {
                    let readiness = health.readiness().await;
                    let status = if readiness.ready() {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, Json(readiness))
                }
            })
        });
    let rest = match metrics_on_main_port(core) {
        Some(scrape) => rest.route(
            "/metrics",
            get(crate::metrics::scrape::handle).with_state(scrape),
        ),
        None => rest,
    };
    let rest = rest
        .merge(console::routes(
            accounts,
            core.config.accounts.secure_cookie,
        ))
        // Every route above is counted under its template.
        .route_layer(axum::middleware::from_fn_with_state(
            route_names,
            crate::metrics::http::tag_route,
        ))
        .fallback(|request: Request<Body>| async move {
            wadesk_gateway::error_response(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!(
                    "no such path: {} {}",
                    request.method(),
                    request.uri().path()
                ),
            )
        });

    let metrics = core.metrics.clone();
    let dispatch = tower::service_fn(move |mut request: Request<Body>| {
        let grpc = grpc.clone();
        let rest = rest.clone();
        let metrics = metrics.clone();
        async move {
            // gRPC calls are counted inside (see metrics::http), REST here.
            let protocol = Protocol::of(request.headers());
            request.extensions_mut().insert(protocol);
            let response: Response = if protocol == Protocol::Rest {
                let started = std::time::Instant::now();
                let method = request.method().clone();
                let response = match rest.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                crate::metrics::http::record_rest(&metrics, &method, &response, started);
                response
            } else {
                match grpc.oneshot(request).await {
                    Ok(response) => response.into_response(),
                    Err(never) => match never {},
                }
            };
            Ok::<_, Infallible>(response)
        }
    });
    Ok(Router::new()
        .fallback_service(dispatch)
        .layer(axum::middleware::from_fn_with_state(
            input::HeadLimits::from_config(server),
            input::limit_heads,
        ))
        .layer(axum::middleware::from_fn(console::csrf))
        .layer(cors(&core.config))
        .layer(axum::middleware::from_fn(request_id::layer)))
}

/// A gRPC request with no message at all (an empty body) is the caller's
/// error, not ours: tonic answers INTERNAL "Missing request message.", which
/// becomes INVALID_ARGUMENT here (for gRPC-web too: this runs inside its
/// translation).
fn missing_message_is_invalid_argument<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let internal = headers
        .get("grpc-status")
        .is_some_and(|v| v == (tonic::Code::Internal as i32).to_string().as_str());
    let missing = headers
        .get("grpc-message")
        .is_some_and(|v| v == "Missing%20request%20message.");
    if internal && missing {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(tonic::Code::InvalidArgument as i32),
        );
        headers.insert(
            "grpc-message",
            http::HeaderValue::from_static(
                "the%20request%20has%20no%20message%3A%20a%20gRPC%20request%20carries%20one%20\
                 length-prefixed%20message%2C%20even%20an%20empty%20one",
            ),
        );
    }
    response
}

/// The scrape state when /metrics is served on the main port: enabled and
/// without an address of its own.
fn metrics_on_main_port(core: &Core) -> Option<Scrape> {
    let config = &core.config.metrics;
    (config.enabled && config.listen.is_none()).then(|| scrape(core))
}

fn scrape(core: &Core) -> Scrape {
    Scrape::new(
        core.metrics.clone(),
        core.db.clone(),
        core.tail.clone(),
        core.config.metrics.token.as_deref(),
    )
}

/// The router of `metrics.listen`: /metrics alone.
fn metrics_app(core: &Core) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(crate::metrics::scrape::handle).with_state(scrape(core)),
        )
        .fallback(|| async {
            wadesk_gateway::error_response(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "this address serves GET /metrics only",
            )
        })
}

/// The gRPC method paths served: the embedded services', health's and
/// reflection's (the request counter's bounded route labels).
fn grpc_methods() -> anyhow::Result<GrpcMethods> {
    let pool = prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
        .context("decoding the embedded descriptors")?;
    let mut paths: Vec<String> = pool
        .services()
        .flat_map(|s| {
            s.methods()
                .map(|m| format!("/{}/{}", s.full_name(), m.name()))
                .collect::<Vec<_>>()
        })
        .collect();
    paths.extend(
        [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .map(String::from),
    );
    Ok(GrpcMethods::new(paths))
}

/// A message over `server.max_body_bytes`: tonic answers OUT_OF_RANGE,
/// gRPC's own servers and our REST side RESOURCE_EXHAUSTED (the message,
/// which gives both sizes, is kept).
fn oversized_message_is_resource_exhausted<B>(
    mut response: http::Response<B>,
) -> http::Response<B> {
    let headers = response.headers_mut();
    let out_of_range = headers
        .get("grpc-status")
        .is_some_and(|v| v == (tonic::Code::OutOfRange as i32).to_string().as_str());
    let too_large = headers.get("grpc-message").is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"Error,%20decoded%20message%20length%20too%20large")
    });
    if out_of_range && too_large {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(tonic::Code::ResourceExhausted as i32),
        );
    }
    response
}

/// The full names of the gRPC services in the embedded descriptors.
fn service_names() -> anyhow::Result<Vec<String>> {
    let pool = prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
        .context("decoding the embedded descriptors")?;
    Ok(pool.services().map(|s| s.full_name().to_owned()).collect())
}

/// The REST transcoder over the embedded descriptors.
pub fn gateway() -> anyhow::Result<wadesk_gateway::Gateway> {
    let pool = prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
        .context("decoding the embedded descriptors")?;
    wadesk_gateway::Gateway::new(pool).context("reading google.api.http rules")
}

/// Browsers on another origin may call REST and gRPC-web, and read the
/// gRPC status headers.
fn cors(config: &Config) -> CorsLayer {
    let origins = &config.server.cors_origins;
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
            HeaderName::from_static("retry-after"),
            request_id::HEADER,
        ])
        .max_age(Duration::from_secs(3600))
}

/// How long a stop waits for background tasks once everything else has
/// stopped (they end on the shutdown signal; one that does not is a bug,
/// logged, not a hang).
const TASKS_GRACE: Duration = Duration::from_secs(30);

/// A server running in the background.
pub struct Running {
    pub addr: SocketAddr,
    /// Where /metrics is served when `metrics.listen` gives it an address
    /// of its own (None: on `addr`, or not at all).
    pub metrics_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    metrics_task: Option<JoinHandle<std::io::Result<()>>>,
    sessions: Arc<SessionManager>,
    webhooks: webhooks::Worker,
    bulk: crate::bulk::Engine,
    bot: bot::Worker,
    tasks: TaskTracker,
    health: Health,
}

impl Running {
    /// Stops at once: see [`stop_after`](Self::stop_after).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_after(Duration::ZERO, std::future::pending::<()>())
            .await
    }

    /// Stops gracefully: readiness checks say NOT_SERVING for `drain` (or
    /// until `skip` completes) while requests are still served; then the
    /// server stops accepting, lets in-flight requests finish and ends the
    /// streams (each told where to resume); the webhook, campaign and bot
    /// workers stop, then every phone session at once (keys flushed, the
    /// statuses they queued written); and every background task is awaited.
    pub async fn stop_after(
        self,
        drain: Duration,
        skip: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        self.health.drain().await;
        if !drain.is_zero() {
            tracing::info!(
                secs = drain.as_secs_f64(),
                "draining: health checks say NOT_SERVING"
            );
            tokio::select! {
                _ = tokio::time::sleep(drain) => {}
                _ = skip => tracing::info!("drain cut short"),
            }
        }
        self.shutdown.cancel();
        self.task.await??;
        if let Some(task) = self.metrics_task {
            task.await??;
        }
        // Campaign workers and the bot stop before the sessions they send
        // through.
        tokio::join!(self.webhooks.stop(), self.bulk.stop(), self.bot.stop());
        self.sessions.shutdown().await;
        self.tasks.close();
        if tokio::time::timeout(TASKS_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::error!(
                left = self.tasks.len(),
                "background tasks still running {}s after the stop; leaving them",
                TASKS_GRACE.as_secs()
            );
        }
        Ok(())
    }
}

/// Binds `listener` and serves `core` until stopped.
pub async fn spawn(core: &Core, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let app = app(core)?;
    let shutdown = core.shutdown.clone();
    let limits = listen::Limits::from_config(&core.config.server).within_open_file_limit();
    // Bound before the main listener starts, so a taken port fails the
    // start with nothing left running.
    let (metrics_addr, metrics_task) = match core.config.metrics.listen {
        Some(at) if core.config.metrics.enabled => {
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("binding metrics.listen {at}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "serving /metrics");
            let task = tokio::spawn(listen::serve(
                listener,
                metrics_app(core),
                limits,
                shutdown.clone(),
            ));
            (Some(addr), Some(task))
        }
        _ => (None, None),
    };
    let task = tokio::spawn(listen::serve(listener, app, limits, shutdown.clone()));
    // Linked phones reconnect in the background with their stored keys; the
    // API answers meanwhile.
    let sessions = core.sessions.clone();
    match sessions.start_linked().await {
        Ok(n) if n > 0 => tracing::info!(phones = n, "reconnecting linked phones"),
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "starting linked phones"),
    }
    core.health
        .started(core.shutdown.child_token(), &core.tasks)
        .await;
    // Webhook delivery picks up where the database says it stopped.
    let webhooks = webhooks::Worker::spawn(
        core.events.clone(),
        core.fetcher.clone(),
        core.webhook_keys.clone(),
        core.webhook_settings.clone(),
        core.webhook_kick.clone(),
        core.metrics.clone(),
        core.shutdown.child_token(),
    );
    // Campaigns continue where they stopped.
    match core.bulk.start().await {
        Ok(n) if n > 0 => tracing::info!(phones = n, "continuing campaigns"),
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "starting campaign workers"),
    }
    // The bot reads the event log from its stored cursors.
    let bot = bot::Worker::spawn(
        core.events.clone(),
        core.sender.clone(),
        sessions.clone(),
        core.bot_keys.clone(),
        core.bot_settings.clone(),
        core.bot_kick.clone(),
        core.shutdown.child_token(),
    );
    Ok(Running {
        addr,
        metrics_addr,
        shutdown,
        task,
        metrics_task,
        sessions,
        webhooks,
        bulk: core.bulk.clone(),
        bot,
        tasks: core.tasks.clone(),
        health: core.health.clone(),
    })
}
