//! MediaService: files uploaded once and sent later by `media_id`. Over
//! gRPC (and REST JSON through the gateway) the file is `data` in the
//! request; REST also takes it as multipart/form-data or as the raw body
//! ([`upload_files`], in front of the gateway), streamed to disk.

use axum::{
    extract::Request as HttpRequest,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response as HttpResponse},
};
use futures::{StreamExt, TryStreamExt};
use tonic::{Request, Response, Status};

use super::{State, convert::timestamp};
use crate::{
    auth::{AuthContext, caller, scope::Need},
    error::{Error, Result},
    proto::{self, media_service_server::MediaService},
    store::entity::upload,
    uploads::Meta,
};

pub(crate) struct MediaApi(pub State);

fn described(row: upload::Model) -> proto::UploadedMedia {
    proto::UploadedMedia {
        media_id: row.id,
        mime_type: row.mime_type,
        size: row.size.max(0) as u64,
        sha256: row.sha256,
        file_name: row.file_name,
        created_at: Some(timestamp(row.created_at)),
        expires_at: Some(timestamp(row.expires_at)),
    }
}

#[tonic::async_trait]
impl MediaService for MediaApi {
    async fn upload_media(
        &self,
        request: Request<proto::UploadMediaRequest>,
    ) -> Result<Response<proto::UploadMediaResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let chunk: std::result::Result<bytes::Bytes, std::convert::Infallible> =
            Ok(bytes::Bytes::copy_from_slice(&req.data));
        let row = self
            .0
            .uploads
            .save(
                &caller.account_id,
                "data",
                futures::stream::iter([chunk]),
                Meta {
                    file_name: Some(req.file_name.clone()),
                    expires_in_seconds: Some(u64::from(req.expires_in_seconds)),
                },
            )
            .await?;
        Ok(Response::new(proto::UploadMediaResponse {
            media: Some(described(row)),
        }))
    }

    async fn get_media(
        &self,
        request: Request<proto::GetMediaRequest>,
    ) -> Result<Response<proto::GetMediaResponse>, Status> {
        let caller = caller(&request)?;
        let row = self
            .0
            .uploads
            .find(&caller.account_id, &request.get_ref().media_id)
            .await?;
        Ok(Response::new(proto::GetMediaResponse {
            media: Some(described(row)),
        }))
    }

    async fn delete_media(
        &self,
        request: Request<proto::DeleteMediaRequest>,
    ) -> Result<Response<proto::DeleteMediaResponse>, Status> {
        let caller = caller(&request)?;
        let id = request.get_ref().media_id.trim().to_owned();
        self.0.uploads.delete(&caller.account_id, &id).await?;
        Ok(Response::new(proto::DeleteMediaResponse { media_id: id }))
    }
}

/// `POST /api/media` with a file that is not JSON: multipart/form-data
/// (the part named `file`) or the raw body with its Content-Type; the
/// file's name and time to keep in the query (`file_name`,
/// `expires_in_seconds`). JSON goes on to the gateway (UploadMedia).
pub(crate) async fn upload_files(
    axum::extract::State(api): axum::extract::State<State>,
    request: HttpRequest,
    next: Next,
) -> HttpResponse {
    let is_upload = request.method() == axum::http::Method::POST
        && request.uri().path() == "/api/media"
        && !request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if !is_upload {
        return next.run(request).await;
    }
    match upload(&api, request).await {
        Ok(row) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({
                "success": true,
                "media": upload_json(row),
            })),
        )
            .into_response(),
        Err(err) => crate::error::rest_response(err),
    }
}

/// The answer's `media`, as the gateway writes UploadedMedia in JSON.
fn upload_json(row: upload::Model) -> serde_json::Value {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    serde_json::json!({
        "media_id": row.id,
        "mime_type": row.mime_type,
        "size": row.size,
        "sha256": row.sha256,
        "file_name": row.file_name,
        "created_at": at(row.created_at),
        "expires_at": at(row.expires_at),
    })
}

async fn upload(api: &State, request: HttpRequest) -> Result<upload::Model> {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let caller: AuthContext = api.auth.authenticate(request.headers(), peer).await?;
    caller.allow(Need::Send)?;
    let query: std::collections::HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let expires_in_seconds = match query.get("expires_in_seconds") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            Error::invalid("expires_in_seconds", "must be a whole number of seconds")
        })?),
    };
    let mut meta = Meta {
        file_name: query.get("file_name").cloned(),
        expires_in_seconds,
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let uploads = &api.uploads;
    let body = request.into_body().into_data_stream();
    if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|e| Error::invalid("file", format!("bad multipart body: {e}")))?;
        let mut parts = multer::Multipart::new(body, boundary);
        while let Some(part) = parts
            .next_field()
            .await
            .map_err(|e| Error::invalid("file", format!("bad multipart body: {e}")))?
        {
            if part.name() != Some("file") {
                continue;
            }
            if meta.file_name.is_none() {
                meta.file_name = part.file_name().map(str::to_owned);
            }
            return uploads
                .save(
                    &caller.account_id,
                    "file",
                    part.map_err(|e| e.to_string()).boxed(),
                    meta,
                )
                .await;
        }
        return Err(Error::invalid(
            "file",
            "is required: a multipart part named file",
        ));
    }
    uploads
        .save(
            &caller.account_id,
            "file",
            body.map_err(|e| e.to_string()).boxed(),
            meta,
        )
        .await
}
