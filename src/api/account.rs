//! AccountService: decode, call [`crate::accounts::Accounts`], convert.

use tonic::{Request, Response, Status};

use super::{State, convert};
use crate::{
    auth::caller,
    error::Error,
    proto::{self, account_service_server::AccountService},
    store::entity::token::TokenRights,
};

pub(crate) struct AccountApi(pub State);

#[tonic::async_trait]
impl AccountService for AccountApi {
    async fn get_account(
        &self,
        request: Request<proto::GetAccountRequest>,
    ) -> Result<Response<proto::GetAccountResponse>, Status> {
        let caller = caller(&request)?;
        let account = self.0.accounts.get(&caller.account_id).await?;
        Ok(Response::new(proto::GetAccountResponse {
            account: Some((&account).into()),
        }))
    }

    async fn change_password(
        &self,
        request: Request<proto::ChangePasswordRequest>,
    ) -> Result<Response<proto::ChangePasswordResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let ended = self
            .0
            .accounts
            .change_password(&caller.account_id, &req.current_password, &req.new_password)
            .await?;
        Ok(Response::new(proto::ChangePasswordResponse {
            sessions_signed_out: u32::try_from(ended).unwrap_or(u32::MAX),
        }))
    }

    async fn create_token(
        &self,
        request: Request<proto::CreateTokenRequest>,
    ) -> Result<Response<proto::CreateTokenResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let rights = match proto::TokenRights::try_from(req.rights) {
            Ok(proto::TokenRights::Unspecified | proto::TokenRights::Full) => TokenRights::Full,
            Ok(proto::TokenRights::Send) => TokenRights::Send,
            Ok(proto::TokenRights::Read) => TokenRights::Read,
            Err(_) => return Err(Error::invalid("rights", "must be full, send or read").into()),
        };
        let created = self
            .0
            .accounts
            .create_token(
                &caller.account_id,
                &req.name,
                req.expires_in_seconds,
                rights,
                &req.phone_ids,
            )
            .await?;
        Ok(Response::new(proto::CreateTokenResponse {
            token: Some((&created.record).into()),
            secret: created.secret,
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<proto::ListTokensRequest>,
    ) -> Result<Response<proto::ListTokensResponse>, Status> {
        let caller = caller(&request)?;
        let tokens = self.0.accounts.tokens(&caller.account_id).await?;
        Ok(Response::new(proto::ListTokensResponse {
            tokens: tokens.iter().map(Into::into).collect(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<proto::RevokeTokenRequest>,
    ) -> Result<Response<proto::RevokeTokenResponse>, Status> {
        let caller = caller(&request)?;
        let token = self
            .0
            .accounts
            .revoke_token(&caller.account_id, &request.get_ref().token_id)
            .await?;
        // Refused from the next request on, not after the cache's time.
        self.0.auth.forget(&token.id);
        Ok(Response::new(proto::RevokeTokenResponse {
            token_id: token.id,
            revoked_at: token.revoked_at.map(convert::timestamp),
        }))
    }
}
