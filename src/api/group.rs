//! GroupService: the groups a phone is in, run through its live session
//! ([`crate::groups`]).

use tonic::{Request, Response, Status};
use whatsapp_rust::{
    GroupCreateOptions, GroupDescription, GroupMetadata, GroupParticipantOptions, GroupSubject,
    Jid, MembershipApprovalMode, ParticipantChangeResponse, ParticipantType, PreviousDescription,
};

use super::{State, convert::timestamp, validate};
use crate::{
    auth::{AuthContext, caller},
    error::{Error, Result},
    groups::{
        DESCRIPTION_MAX, Groups, MAX_PARTICIPANTS, SUBJECT_MAX, TIMERS, group_jid, outcome, refused,
    },
    proto::{self, group_service_server::GroupService},
    store::entity::phone,
};

pub(crate) struct GroupApi(pub State);

/// A group as the API shows it; `invite_link` only where the phone is admin.
fn shown(meta: &GroupMetadata, invite_link: Option<String>) -> proto::Group {
    let role = |t: &ParticipantType| match t {
        ParticipantType::Member => proto::GroupRole::Member,
        ParticipantType::Admin => proto::GroupRole::Admin,
        ParticipantType::SuperAdmin => proto::GroupRole::Superadmin,
    };
    proto::Group {
        group_id: format!("{}@g.us", meta.id.user),
        subject: meta.subject.clone(),
        description: meta.description.clone().filter(|d| !d.is_empty()),
        owner: meta
            .creator
            .as_ref()
            .map(|c| Groups::number(c, meta.creator_pn.as_ref())),
        created_at: meta.creation_time.map(|t| timestamp(t as i64 * 1000)),
        participants: meta
            .participants
            .iter()
            .map(|p| proto::GroupParticipant {
                number: Groups::number(&p.jid, p.phone_number.as_ref()),
                role: role(&p.participant_type) as i32,
            })
            .collect(),
        settings: Some(proto::GroupSettings {
            announce: meta.is_announcement,
            locked: meta.is_locked,
            disappearing_seconds: meta
                .ephemeral
                .as_ref()
                .and_then(|e| e.expiration)
                .unwrap_or(0),
            join_approval: meta.membership_approval,
        }),
        invite_link,
        size: meta
            .size
            .unwrap_or(u32::try_from(meta.participants.len()).unwrap_or(u32::MAX)),
    }
}

fn results(changes: &[ParticipantChangeResponse]) -> Vec<proto::ParticipantResult> {
    changes
        .iter()
        .map(|r| {
            let (number, status, code) = outcome(r);
            proto::ParticipantResult {
                number,
                status: status.into(),
                code,
            }
        })
        .collect()
}

/// 1 to 256 numbers, normalized, as PN JIDs.
fn participants(field: &str, numbers: &[String]) -> Result<Vec<Jid>> {
    if numbers.is_empty() {
        return Err(Error::required(field));
    }
    if numbers.len() > MAX_PARTICIPANTS {
        return Err(Error::invalid(
            field,
            format!(
                "holds {} numbers; at most {MAX_PARTICIPANTS}",
                numbers.len()
            ),
        ));
    }
    numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let field = format!("{field}[{i}]");
            let number = validate::phone_number(&field, n)?;
            format!("{number}@s.whatsapp.net")
                .parse()
                .map_err(|e| Error::invalid(&field, format!("{e:?}")))
        })
        .collect()
}

fn subject(raw: &str) -> Result<GroupSubject> {
    let raw = validate::required("subject", raw)?;
    validate::max_len("subject", raw, SUBJECT_MAX)?;
    GroupSubject::new(raw).map_err(|e| Error::invalid("subject", e.to_string()))
}

/// Results for numbers; participants whose answer WhatsApp left out are
/// reported as errors rather than dropped.
fn every_number(
    asked: &[Jid],
    got: Vec<proto::ParticipantResult>,
) -> Vec<proto::ParticipantResult> {
    asked
        .iter()
        .map(|jid| {
            got.iter()
                .find(|r| r.number == jid.user.as_str())
                .cloned()
                .unwrap_or(proto::ParticipantResult {
                    number: jid.user.to_string(),
                    status: "error".into(),
                    code: None,
                })
        })
        .collect()
}

impl GroupApi {
    async fn phone(&self, caller: &AuthContext, phone_id: &str) -> Result<phone::Model> {
        validate::owned_phone(&self.0, caller, phone_id).await
    }

    /// The group as it is now, with its invite link where the phone may see it.
    async fn group(&self, phone: &phone::Model, jid: &Jid) -> Result<proto::Group> {
        let client = self.0.groups.client(phone)?;
        let meta = self.0.groups.metadata(&client, jid).await?;
        crate::groups::remember_subject(&meta.id.user, &meta.subject);
        let own = client.pn().map(|j| j.user.to_string());
        let admin = meta.participants.iter().any(|p| {
            p.participant_type.is_admin()
                && Some(Groups::number(&p.jid, p.phone_number.as_ref())) == own
        });
        let link = if admin {
            client
                .groups()
                .get_invite_link(jid.clone(), false)
                .await
                .ok()
        } else {
            None
        };
        Ok(shown(&meta, link))
    }

    /// The shared path of the four participant changes.
    async fn change(
        &self,
        caller: &AuthContext,
        phone_id: &str,
        group_id: &str,
        numbers: &[String],
        action: &str,
    ) -> Result<Vec<proto::ParticipantResult>> {
        let jid = group_jid("group_id", group_id)?;
        let asked = participants("participants", numbers)?;
        let phone = self.phone(caller, phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let groups = client.groups();
        let done = match action {
            "add" => groups.add_participants(jid, &asked).await,
            "remove" => groups.remove_participants(jid, &asked).await,
            "promote" => groups.promote_participants(jid, &asked).await,
            "approve" => groups.approve_membership_requests(&jid, &asked).await,
            "reject" => groups.reject_membership_requests(&jid, &asked).await,
            _ => groups.demote_participants(jid, &asked).await,
        }
        .map_err(|e| refused("participants", e))?;
        Ok(every_number(&asked, results(&done)))
    }
}

#[tonic::async_trait]
impl GroupService for GroupApi {
    async fn create_group(
        &self,
        request: Request<proto::CreateGroupRequest>,
    ) -> Result<Response<proto::CreateGroupResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let subject = subject(&req.subject)?;
        let asked = participants("participants", &req.participants)?;
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let options = GroupCreateOptions::builder()
            .subject(subject.as_str())
            .participants(
                asked
                    .iter()
                    .map(|j| GroupParticipantOptions::builder().jid(j.clone()).build())
                    .collect(),
            )
            .build();
        let created = client
            .groups()
            .create_group(options)
            .await
            .map_err(|e| refused("participants", e))?;
        let jid = created.metadata.id.clone();
        // Each asked number's result: in the group, or why not.
        let meta = self.0.groups.metadata(&client, &jid).await?;
        let members: Vec<String> = meta
            .participants
            .iter()
            .map(|p| Groups::number(&p.jid, p.phone_number.as_ref()))
            .collect();
        let found = client
            .contacts()
            .is_on_whatsapp(&asked)
            .await
            .unwrap_or_default();
        let results = asked
            .iter()
            .map(|j| {
                let number = j.user.to_string();
                let status = if members.contains(&number) {
                    "ok"
                } else if found
                    .iter()
                    .any(|r| r.jid.user == j.user && !r.is_registered)
                {
                    "not_on_whatsapp"
                } else {
                    "error"
                };
                proto::ParticipantResult {
                    number,
                    status: status.into(),
                    code: None,
                }
            })
            .collect();
        let group = self.group(&phone, &jid).await?;
        Ok(Response::new(proto::CreateGroupResponse {
            group: Some(group),
            participants: results,
        }))
    }

    async fn list_groups(
        &self,
        request: Request<proto::ListGroupsRequest>,
    ) -> Result<Response<proto::ListGroupsResponse>, Status> {
        let caller = caller(&request)?;
        let phone = self.phone(caller, &request.get_ref().phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let all = client
            .groups()
            .get_participating()
            .await
            .map_err(|e| refused("phone_id", e))?;
        let mut groups: Vec<proto::Group> = all.values().map(|m| shown(m, None)).collect();
        groups.sort_by(|a, b| {
            a.subject
                .to_lowercase()
                .cmp(&b.subject.to_lowercase())
                .then_with(|| a.group_id.cmp(&b.group_id))
        });
        Ok(Response::new(proto::ListGroupsResponse { groups }))
    }

    async fn get_group(
        &self,
        request: Request<proto::GetGroupRequest>,
    ) -> Result<Response<proto::GetGroupResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let jid = group_jid("group_id", &req.group_id)?;
        let phone = self.phone(caller, &req.phone_id).await?;
        Ok(Response::new(proto::GetGroupResponse {
            group: Some(self.group(&phone, &jid).await?),
        }))
    }

    async fn update_group(
        &self,
        request: Request<proto::UpdateGroupRequest>,
    ) -> Result<Response<proto::UpdateGroupResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let jid = group_jid("group_id", &req.group_id)?;
        let new_subject = req.subject.as_deref().map(subject).transpose()?;
        let description = match req.description.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(text) => {
                validate::max_len("description", text, DESCRIPTION_MAX)?;
                Some(Some(
                    GroupDescription::new(text)
                        .map_err(|e| Error::invalid("description", e.to_string()))?,
                ))
            }
            None => None,
        };
        let picture_url = req
            .picture_url
            .as_deref()
            .map(|u| validate::http_url("picture_url", u))
            .transpose()?;
        if new_subject.is_none() && description.is_none() && picture_url.is_none() {
            return Err(Error::invalid(
                "subject",
                "nothing to change: give subject, description or picture_url",
            )
            .into());
        }
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        // The picture first: it is the part that can fail on the caller's input.
        let picture = match &picture_url {
            Some(url) => Some(self.0.profiles.picture(url).await?),
            None => None,
        };
        let groups = client.groups();
        if let Some(jpeg) = picture {
            groups
                .set_profile_picture(&jid, jpeg)
                .await
                .map_err(|e| refused("picture_url", e))?;
        }
        if let Some(s) = new_subject {
            groups
                .set_subject(jid.clone(), s)
                .await
                .map_err(|e| refused("subject", e))?;
        }
        if let Some(d) = description {
            groups
                .set_description(jid.clone(), d, PreviousDescription::Resolve)
                .await
                .map_err(|e| refused("description", e))?;
        }
        Ok(Response::new(proto::UpdateGroupResponse {
            group: Some(self.group(&phone, &jid).await?),
        }))
    }

    async fn add_participants(
        &self,
        request: Request<proto::AddParticipantsRequest>,
    ) -> Result<Response<proto::AddParticipantsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let participants = self
            .change(caller, &r.phone_id, &r.group_id, &r.participants, "add")
            .await?;
        Ok(Response::new(proto::AddParticipantsResponse {
            participants,
        }))
    }

    async fn remove_participants(
        &self,
        request: Request<proto::RemoveParticipantsRequest>,
    ) -> Result<Response<proto::RemoveParticipantsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let participants = self
            .change(caller, &r.phone_id, &r.group_id, &r.participants, "remove")
            .await?;
        Ok(Response::new(proto::RemoveParticipantsResponse {
            participants,
        }))
    }

    async fn promote_participants(
        &self,
        request: Request<proto::PromoteParticipantsRequest>,
    ) -> Result<Response<proto::PromoteParticipantsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let participants = self
            .change(caller, &r.phone_id, &r.group_id, &r.participants, "promote")
            .await?;
        Ok(Response::new(proto::PromoteParticipantsResponse {
            participants,
        }))
    }

    async fn demote_participants(
        &self,
        request: Request<proto::DemoteParticipantsRequest>,
    ) -> Result<Response<proto::DemoteParticipantsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let participants = self
            .change(caller, &r.phone_id, &r.group_id, &r.participants, "demote")
            .await?;
        Ok(Response::new(proto::DemoteParticipantsResponse {
            participants,
        }))
    }

    async fn get_invite_link(
        &self,
        request: Request<proto::GetInviteLinkRequest>,
    ) -> Result<Response<proto::GetInviteLinkResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (invite_link, code) = self.invite(caller, &r.phone_id, &r.group_id, false).await?;
        Ok(Response::new(proto::GetInviteLinkResponse {
            invite_link,
            code,
        }))
    }

    async fn revoke_invite_link(
        &self,
        request: Request<proto::RevokeInviteLinkRequest>,
    ) -> Result<Response<proto::RevokeInviteLinkResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (invite_link, code) = self.invite(caller, &r.phone_id, &r.group_id, true).await?;
        Ok(Response::new(proto::RevokeInviteLinkResponse {
            invite_link,
            code,
        }))
    }

    async fn join_group(
        &self,
        request: Request<proto::JoinGroupRequest>,
    ) -> Result<Response<proto::JoinGroupResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let code = invite_code("invite", &req.invite)?;
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let joined =
            client
                .groups()
                .join_with_invite_code(&code)
                .await
                .map_err(|e| match refused("invite", e) {
                    Error::NotFound(_) => Error::invalid("invite", "no group has this invite"),
                    other => other,
                })?;
        Ok(Response::new(proto::JoinGroupResponse {
            group_id: format!("{}@g.us", joined.group_jid().user),
            pending: matches!(joined, whatsapp_rust::JoinGroupResult::PendingApproval(_)),
        }))
    }

    async fn get_invite_info(
        &self,
        request: Request<proto::GetInviteInfoRequest>,
    ) -> Result<Response<proto::GetInviteInfoResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let code = invite_code("code", &req.code)?;
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let meta =
            client
                .groups()
                .get_invite_info(&code)
                .await
                .map_err(|e| match refused("code", e) {
                    Error::NotFound(_) => Error::invalid("code", "no group has this invite"),
                    other => other,
                })?;
        Ok(Response::new(proto::GetInviteInfoResponse {
            group: Some(shown(&meta, None)),
        }))
    }

    async fn leave_group(
        &self,
        request: Request<proto::LeaveGroupRequest>,
    ) -> Result<Response<proto::LeaveGroupResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let jid = group_jid("group_id", &req.group_id)?;
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        client
            .groups()
            .leave(jid.clone())
            .await
            .map_err(|e| refused("group_id", e))?;
        Ok(Response::new(proto::LeaveGroupResponse {
            group_id: format!("{}@g.us", jid.user),
        }))
    }

    async fn set_group_settings(
        &self,
        request: Request<proto::SetGroupSettingsRequest>,
    ) -> Result<Response<proto::SetGroupSettingsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let jid = group_jid("group_id", &req.group_id)?;
        if let Some(t) = req.disappearing_seconds
            && !TIMERS.contains(&t)
        {
            return Err(Error::invalid(
                "disappearing_seconds",
                "must be 0 (off), 86400 (24 hours), 604800 (7 days) or 7776000 (90 days)",
            )
            .into());
        }
        if req.announce.is_none()
            && req.locked.is_none()
            && req.disappearing_seconds.is_none()
            && req.join_approval.is_none()
        {
            return Err(Error::invalid(
                "announce",
                "nothing to change: give announce, locked, disappearing_seconds or join_approval",
            )
            .into());
        }
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let groups = client.groups();
        if let Some(on) = req.announce {
            groups
                .set_announce(jid.clone(), on)
                .await
                .map_err(|e| refused("announce", e))?;
        }
        if let Some(on) = req.locked {
            groups
                .set_locked(jid.clone(), on)
                .await
                .map_err(|e| refused("locked", e))?;
        }
        if let Some(t) = req.disappearing_seconds {
            groups
                .set_ephemeral(jid.clone(), t)
                .await
                .map_err(|e| refused("disappearing_seconds", e))?;
        }
        if let Some(on) = req.join_approval {
            let mode = if on {
                MembershipApprovalMode::On
            } else {
                MembershipApprovalMode::Off
            };
            groups
                .set_membership_approval(jid.clone(), mode)
                .await
                .map_err(|e| refused("join_approval", e))?;
        }
        Ok(Response::new(proto::SetGroupSettingsResponse {
            group: Some(self.group(&phone, &jid).await?),
        }))
    }

    async fn list_join_requests(
        &self,
        request: Request<proto::ListJoinRequestsRequest>,
    ) -> Result<Response<proto::ListJoinRequestsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let jid = group_jid("group_id", &req.group_id)?;
        let phone = self.phone(caller, &req.phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let mut requests = client
            .groups()
            .get_membership_requests(&jid)
            .await
            .map_err(|e| refused("group_id", e))?;
        requests.sort_by_key(|r| r.request_time.unwrap_or(0));
        Ok(Response::new(proto::ListJoinRequestsResponse {
            requests: requests
                .iter()
                .map(|r| proto::JoinRequest {
                    number: r.jid.user.to_string(),
                    requested_at: r.request_time.map(|t| timestamp(t as i64 * 1000)),
                })
                .collect(),
        }))
    }

    async fn approve_join_requests(
        &self,
        request: Request<proto::ApproveJoinRequestsRequest>,
    ) -> Result<Response<proto::ApproveJoinRequestsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let participants = self
            .change(caller, &r.phone_id, &r.group_id, &r.participants, "approve")
            .await?;
        Ok(Response::new(proto::ApproveJoinRequestsResponse {
            participants,
        }))
    }

    async fn reject_join_requests(
        &self,
        request: Request<proto::RejectJoinRequestsRequest>,
    ) -> Result<Response<proto::RejectJoinRequestsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let participants = self
            .change(caller, &r.phone_id, &r.group_id, &r.participants, "reject")
            .await?;
        Ok(Response::new(proto::RejectJoinRequestsResponse {
            participants,
        }))
    }
}

impl GroupApi {
    /// The invite link and its code (a new one with `reset`).
    async fn invite(
        &self,
        caller: &AuthContext,
        phone_id: &str,
        group_id: &str,
        reset: bool,
    ) -> Result<(String, String)> {
        let jid = group_jid("group_id", group_id)?;
        let phone = self.phone(caller, phone_id).await?;
        let client = self.0.groups.client(&phone)?;
        let link = client
            .groups()
            .get_invite_link(jid, reset)
            .await
            .map_err(|e| refused("group_id", e))?;
        let code = link.rsplit('/').next().unwrap_or(&link).to_owned();
        Ok((format!("https://chat.whatsapp.com/{code}"), code))
    }
}

/// An invite link's code, from the link or the code alone.
fn invite_code(field: &str, raw: &str) -> Result<String> {
    let raw = validate::required(field, raw)?;
    let code = raw
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(raw)
        .rsplit("code=")
        .next()
        .unwrap_or(raw);
    if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            field,
            "is not an invite link or code: use https://chat.whatsapp.com/<code> or the code",
        ));
    }
    Ok(code.to_owned())
}
