//! The HTTPS media host: a client that always speaks HTTPS and trusts only the
//! simulator's CA uploads and downloads through it.

use std::time::Duration;

use sha2::{Digest, Sha256};
use wadesk_sim::{SimConfig, Simulator};
use whatsapp_rust::download::MediaType;
use whatsapp_rust::prelude::*;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_over_https_with_a_client_trusting_only_the_simulators_ca() {
    init_logs();
    let sim = Simulator::start(SimConfig {
        media_conn_https: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let https = || TestHttp::trusting_only(sim.ca_certificate_pem());
    let (a_num, b_num) = ("15554470001", "15554470002");
    let (a, mut b) = tokio::join!(
        paired_client_with(&sim, a_num, "Alice", https()),
        paired_client_with(&sim, b_num, "Bob", https()),
    );

    let data: Vec<u8> = (0..150_000u32).map(|i| (i * 11 % 251) as u8).collect();
    let up = a
        .client
        .upload(data.clone(), MediaType::Image, Default::default())
        .await
        .expect("upload over https");
    assert!(
        up.url.starts_with(&format!("{}/v/", sim.https_url())),
        "{}",
        up.url
    );
    assert_eq!(sim.media_blob_count(), 1);
    let msg = whatsapp_rust::media::image_message(up, Default::default());
    let to: Jid = format!("{b_num}@s.whatsapp.net").parse().unwrap();
    a.client.send_message(to, msg).await.unwrap();
    let img = b
        .wait_for(Duration::from_secs(10), "the image", |ev| match ev {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .find_map(|m| m.message.image_message.as_option().cloned()),
            _ => None,
        })
        .await;
    let got = b.client.download(&img).await.expect("download over https");
    assert_eq!(got, data);
    assert_eq!(
        img.file_sha256.as_deref(),
        Some(Sha256::digest(&data).as_slice())
    );

    // The certificate is real TLS: without the simulator's CA it is refused,
    // and the HTTPS port speaks no plain HTTP.
    let stranger = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(stranger.get(sim.https_url()).send().await.is_err());
    let plain = sim.https_url().replacen("https://", "http://", 1);
    assert!(
        http_request("GET", &format!("{plain}/v/x"), &[], b"")
            .await
            .is_err()
    );
    a.shutdown().await;
    b.shutdown().await;
}
