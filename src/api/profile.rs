//! ProfileService: the phone's name, about text, picture and presence, and
//! the contacts whose presence it follows ([`crate::profile`]).

use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    error::Error,
    profile::{ABOUT_MAX_CHARS, Change, NAME_MAX_CHARS, Shown},
    proto::{self, profile_service_server::ProfileService},
};

pub(crate) struct ProfileApi(pub State);

fn profile(shown: Shown) -> proto::Profile {
    proto::Profile {
        name: shown.name,
        about: shown.about,
        picture_url: shown.picture_url,
        picture_id: shown.picture_id,
    }
}

#[tonic::async_trait]
impl ProfileService for ProfileApi {
    async fn get_profile(
        &self,
        request: Request<proto::GetProfileRequest>,
    ) -> Result<Response<proto::GetProfileResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let shown = self.0.profiles.get(&phone).await?;
        Ok(Response::new(proto::GetProfileResponse {
            profile: Some(profile(shown)),
        }))
    }

    async fn set_profile(
        &self,
        request: Request<proto::SetProfileRequest>,
    ) -> Result<Response<proto::SetProfileResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let name = match &req.name {
            Some(name) => {
                let name = validate::required("name", name)?;
                validate::max_len("name", name, NAME_MAX_CHARS)?;
                Some(name.to_owned())
            }
            None => None,
        };
        let about = match &req.about {
            Some(about) => {
                let about = about.trim();
                validate::max_len("about", about, ABOUT_MAX_CHARS)?;
                Some(about.to_owned())
            }
            None => None,
        };
        let picture_url = match &req.picture_url {
            Some(url) => Some(validate::http_url("picture_url", url)?),
            None => None,
        };
        if picture_url.is_some() && req.remove_picture {
            return Err(Error::invalid(
                "remove_picture",
                "cannot be set with picture_url: give one or the other",
            )
            .into());
        }
        if name.is_none() && about.is_none() && picture_url.is_none() && !req.remove_picture {
            return Err(Error::invalid(
                "name",
                "nothing to change: give name, about, picture_url or remove_picture",
            )
            .into());
        }
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let change = Change {
            name,
            about,
            picture_url,
            remove_picture: req.remove_picture,
        };
        let shown = self.0.profiles.set(&phone, change).await?;
        Ok(Response::new(proto::SetProfileResponse {
            profile: Some(profile(shown)),
        }))
    }

    async fn set_presence(
        &self,
        request: Request<proto::SetPresenceRequest>,
    ) -> Result<Response<proto::SetPresenceResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let available = match proto::Presence::try_from(req.presence) {
            Ok(proto::Presence::Available) => true,
            Ok(proto::Presence::Unavailable) => false,
            _ => {
                return Err(Error::invalid("presence", "must be available or unavailable").into());
            }
        };
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        self.0.profiles.set_presence(&phone, available).await?;
        Ok(Response::new(proto::SetPresenceResponse {
            presence: req.presence,
        }))
    }

    async fn subscribe_presence(
        &self,
        request: Request<proto::SubscribePresenceRequest>,
    ) -> Result<Response<proto::SubscribePresenceResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let number = validate::phone_number("number", &req.number)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        self.0.profiles.subscribe(&phone, &number).await?;
        Ok(Response::new(proto::SubscribePresenceResponse { number }))
    }
}
