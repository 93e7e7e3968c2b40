//! Row `grpc`: PhoneService.GetPhoneStatus through the gateway against a
//! bare tonic server in this process whose get_phone_status answers the same
//! message (its other methods are unimplemented), with the same load client:
//! tonic, one HTTP/2 connection per worker (issue 9 row 2).

use std::pin::Pin;

use anyhow::bail;
use tonic::{Request, Response, Status, transport::Channel};
use wadesk::proto::{
    self,
    phone_service_client::PhoneServiceClient,
    phone_service_server::{PhoneService, PhoneServiceServer},
};
use wadesk_sim::{SimConfig, Simulator};

use crate::{
    gateway::{Bearer, Gateway},
    load,
};

struct Bare(proto::GetPhoneStatusResponse);

type Stream_<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

fn no<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("bench baseline"))
}

#[tonic::async_trait]
impl PhoneService for Bare {
    async fn create_phone(
        &self,
        _: Request<proto::CreatePhoneRequest>,
    ) -> Result<Response<proto::CreatePhoneResponse>, Status> {
        no()
    }
    async fn list_phones(
        &self,
        _: Request<proto::ListPhonesRequest>,
    ) -> Result<Response<proto::ListPhonesResponse>, Status> {
        no()
    }
    async fn get_phone(
        &self,
        _: Request<proto::GetPhoneRequest>,
    ) -> Result<Response<proto::GetPhoneResponse>, Status> {
        no()
    }
    async fn get_phone_status(
        &self,
        _: Request<proto::GetPhoneStatusRequest>,
    ) -> Result<Response<proto::GetPhoneStatusResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }
    type PairPhoneStream = Stream_<proto::PairPhoneResponse>;
    async fn pair_phone(
        &self,
        _: Request<proto::PairPhoneRequest>,
    ) -> Result<Response<Self::PairPhoneStream>, Status> {
        no()
    }
    async fn request_pair_code(
        &self,
        _: Request<proto::RequestPairCodeRequest>,
    ) -> Result<Response<proto::RequestPairCodeResponse>, Status> {
        no()
    }
    async fn logout_phone(
        &self,
        _: Request<proto::LogoutPhoneRequest>,
    ) -> Result<Response<proto::LogoutPhoneResponse>, Status> {
        no()
    }
    async fn delete_phone(
        &self,
        _: Request<proto::DeletePhoneRequest>,
    ) -> Result<Response<proto::DeletePhoneResponse>, Status> {
        no()
    }
    async fn get_call_settings(
        &self,
        _: Request<proto::GetCallSettingsRequest>,
    ) -> Result<Response<proto::GetCallSettingsResponse>, Status> {
        no()
    }
    async fn set_call_settings(
        &self,
        _: Request<proto::SetCallSettingsRequest>,
    ) -> Result<Response<proto::SetCallSettingsResponse>, Status> {
        no()
    }
}

type Client = PhoneServiceClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>;

/// One client (one HTTP/2 connection) per worker.
async fn clients(base: &str, token: Option<&str>) -> anyhow::Result<Vec<Client>> {
    let bearer = Bearer::new(token)?;
    let mut out = Vec::new();
    for _ in 0..load::CONCURRENCY {
        let channel = Channel::from_shared(base.to_owned())?.connect().await?;
        out.push(PhoneServiceClient::with_interceptor(
            channel,
            bearer.clone(),
        ));
    }
    Ok(out)
}

async fn measure(clients: Vec<Client>, phone_id: &str) -> load::LoadResult {
    let clients = std::sync::Arc::new(
        clients
            .into_iter()
            .map(tokio::sync::Mutex::new)
            .collect::<Vec<_>>(),
    );
    let phone_id = phone_id.to_owned();
    load::run(load::CONCURRENCY, load::DURATION, move |worker| {
        let (clients, phone_id) = (clients.clone(), phone_id.clone());
        async move {
            let mut client = clients[worker].lock().await;
            client
                .get_phone_status(proto::GetPhoneStatusRequest { phone_id })
                .await?;
            Ok(())
        }
    })
    .await
}

pub async fn run() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default()).await?;
    let gateway = Gateway::start(&sim).await?;
    let phone_id = gateway.link(&sim, "15559920000").await?;

    let mut probe = clients(&gateway.base, Some(&gateway.token)).await?;
    let answer = probe[0]
        .get_phone_status(proto::GetPhoneStatusRequest {
            phone_id: phone_id.clone(),
        })
        .await?
        .into_inner();
    if answer.phone_id != phone_id {
        bail!("GetPhoneStatus answered another phone: {answer:?}");
    }
    drop(probe);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_base = format!("http://{}", listener.local_addr()?);
    let bare_task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(PhoneServiceServer::new(Bare(answer)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });

    let bare = measure(clients(&bare_base, None).await?, &phone_id).await;
    let through = measure(
        clients(&gateway.base, Some(&gateway.token)).await?,
        &phone_id,
    )
    .await;
    bare_task.abort();
    drop(gateway);
    sim.shutdown();

    load::header("row");
    load::line("grpc", "bare tonic", &bare);
    load::line("grpc", "gateway", &through);
    load::ratio("grpc", &through, &bare);
    Ok(())
}
