//! Polls: checking and building one to send, reading one that arrives,
//! opening the votes on it (end-to-end encrypted with the poll's secret)
//! and counting them.

use whatsapp_rust::{
    Client, Jid,
    waproto::{buffa::MessageField, whatsapp as wa},
};

use crate::{
    details::PollSpec,
    error::{Error, Result},
};

/// WhatsApp's bounds on a poll.
pub(crate) const MIN_OPTIONS: usize = 2;
pub(crate) const MAX_OPTIONS: usize = 12;
pub(crate) const QUESTION_MAX: usize = 255;
pub(crate) const OPTION_MAX: usize = 100;

/// A poll request's fields checked (400 naming the field otherwise);
/// `selectable` 0 means the default, one option.
pub(crate) fn check(question: &str, options: &[String], selectable: u32) -> Result<PollSpec> {
    let question = question.trim();
    if question.is_empty() {
        return Err(Error::invalid("question", "is required"));
    }
    if question.chars().count() > QUESTION_MAX {
        return Err(Error::invalid(
            "question",
            format!("must be at most {QUESTION_MAX} characters"),
        ));
    }
    if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&options.len()) {
        return Err(Error::invalid(
            "options",
            format!(
                "a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options, not {}",
                options.len()
            ),
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(options.len());
    for (i, option) in options.iter().enumerate() {
        let option = option.trim();
        if option.is_empty() {
            return Err(Error::invalid(
                "options",
                format!("option {} is empty", i + 1),
            ));
        }
        if option.chars().count() > OPTION_MAX {
            return Err(Error::invalid(
                "options",
                format!("option {} is longer than {OPTION_MAX} characters", i + 1),
            ));
        }
        // Votes name options by a hash of their text: two alike could not
        // be told apart.
        if names.iter().any(|n| n == option) {
            return Err(Error::invalid(
                "options",
                format!("option {:?} is given twice", option),
            ));
        }
        names.push(option.to_owned());
    }
    let selectable = if selectable == 0 { 1 } else { selectable };
    if selectable as usize > names.len() {
        return Err(Error::invalid(
            "selectable_count",
            format!("must be 1 to {} (the number of options)", names.len()),
        ));
    }
    Ok(PollSpec {
        question: question.to_owned(),
        options: names,
        selectable,
    })
}

/// The WhatsApp message of a poll with a new secret (what voters' phones
/// key their votes with), as WhatsApp Web builds it: the v3 message for a
/// single choice, the first one for several.
pub(crate) fn message(spec: &PollSpec) -> wa::Message {
    use rand::RngExt as _;
    let secret: [u8; 32] = rand::rng().random();
    let poll = wa::message::PollCreationMessage {
        name: Some(spec.question.clone()),
        options: spec
            .options
            .iter()
            .map(|name| wa::message::poll_creation_message::Option {
                option_name: Some(name.clone()),
                option_hash: None,
            })
            .collect(),
        selectable_options_count: Some(spec.selectable),
        poll_content_type: Some(wa::message::PollContentType::TEXT),
        ..Default::default()
    };
    let mut message = wa::Message {
        message_context_info: MessageField::some(wa::MessageContextInfo {
            message_secret: Some(secret.to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    };
    if spec.selectable == 1 {
        message.poll_creation_message_v3 = MessageField::some(poll);
    } else {
        message.poll_creation_message = MessageField::some(poll);
    }
    message
}

/// The poll a received message carries, if it is one.
pub(crate) fn of(m: &wa::Message) -> Option<PollSpec> {
    let poll = m
        .poll_creation_message
        .as_option()
        .or(m.poll_creation_message_v2.as_option())
        .or(m.poll_creation_message_v3.as_option())?;
    Some(PollSpec {
        question: poll.name.clone().unwrap_or_default(),
        options: poll
            .options
            .iter()
            .map(|o| o.option_name.clone().unwrap_or_default())
            .collect(),
        selectable: poll.selectable_options_count.unwrap_or(1),
    })
}

/// The secret votes on this poll are keyed with, from its stored message.
pub(crate) fn secret(stored: &str) -> Option<Vec<u8>> {
    crate::media::decode(stored)
        .ok()?
        .message_context_info
        .as_option()?
        .message_secret
        .clone()
}

/// A vote as it arrives: the poll's id and the encrypted choices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SealedVote {
    pub poll_id: String,
    pub payload: Vec<u8>,
    pub iv: Vec<u8>,
}

/// The vote a received message carries, if it is one.
pub(crate) fn vote_of(m: &wa::Message) -> Option<SealedVote> {
    let update = m.poll_update_message.as_option()?;
    let vote = update.vote.as_option()?;
    Some(SealedVote {
        poll_id: update.poll_creation_message_key.as_option()?.id.clone()?,
        payload: vote.enc_payload.clone()?,
        iv: vote.enc_iv.clone()?,
    })
}

/// Opens a vote on `poll` (whose creator is `creator`) cast by `voter`:
/// the names of the options chosen, in the poll's order. A hash that
/// names no option of the poll is dropped.
pub async fn open(
    client: &Client,
    vote: &SealedVote,
    poll: &PollSpec,
    secret: &[u8],
    creator: &Jid,
    voter: &Jid,
) -> std::result::Result<Vec<String>, String> {
    let hashes = client
        .polls()
        .decrypt_vote(
            whatsapp_rust::PollVoteCiphertext {
                enc_payload: &vote.payload,
                enc_iv: &vote.iv,
            },
            secret,
            &vote.poll_id,
            creator,
            voter,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(poll
        .options
        .iter()
        .filter(|name| {
            let hash = whatsapp_rust::wacore::poll::compute_option_hash(name);
            hashes.iter().any(|h| h.as_slice() == hash)
        })
        .cloned()
        .collect())
}

/// Each option with the voters who chose it: every voter's latest vote
/// counts (`votes` oldest first: voter, the options chosen).
pub(crate) fn tally(
    poll: &PollSpec,
    votes: &[(String, Vec<String>)],
) -> Vec<(String, Vec<String>)> {
    let mut latest: Vec<(&str, &[String])> = Vec::new();
    for (voter, chosen) in votes {
        latest.retain(|(v, _)| v != voter);
        latest.push((voter, chosen));
    }
    poll.options
        .iter()
        .map(|name| {
            let voters = latest
                .iter()
                .filter(|(_, chosen)| chosen.contains(name))
                .map(|(v, _)| v.to_string())
                .collect();
            (name.clone(), voters)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("Option {i}")).collect()
    }

    #[test]
    fn bounds_are_refused_naming_the_field() {
        let field = |r: Result<PollSpec>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check("", &options(2), 1)), "question");
        assert_eq!(field(check("Q?", &options(1), 1)), "options");
        assert_eq!(field(check("Q?", &options(13), 1)), "options");
        assert_eq!(
            field(check("Q?", &["a".into(), " a ".into()], 1)),
            "options"
        );
        assert_eq!(field(check("Q?", &["a".into(), " ".into()], 1)), "options");
        assert_eq!(field(check("Q?", &options(3), 4)), "selectable_count");
        let ok = check(" Lunch? ", &options(12), 0).unwrap();
        assert_eq!((ok.question.as_str(), ok.selectable), ("Lunch?", 1));
    }

    #[test]
    fn a_poll_reads_back_with_its_secret() {
        for selectable in [1, 3] {
            let spec = check("Lunch?", &options(3), selectable).unwrap();
            let m = message(&spec);
            assert_eq!(m.poll_creation_message_v3.is_set(), selectable == 1);
            assert_eq!(of(&m).unwrap(), spec);
            let secret = secret(&crate::media::encode(&m)).unwrap();
            assert_eq!(secret.len(), 32);
        }
    }

    #[test]
    fn the_latest_vote_of_each_voter_counts() {
        let spec = check("Lunch?", &options(3), 2).unwrap();
        let o = |i: usize| format!("Option {i}");
        let votes = vec![
            ("a".to_owned(), vec![o(1)]),
            ("b".to_owned(), vec![o(1), o(2)]),
            ("a".to_owned(), vec![o(3)]),
            ("c".to_owned(), vec![]),
        ];
        let tally = tally(&spec, &votes);
        assert_eq!(tally[0], (o(1), vec!["b".to_owned()]));
        assert_eq!(tally[1], (o(2), vec!["b".to_owned()]));
        assert_eq!(tally[2], (o(3), vec!["a".to_owned()]));
    }
}
