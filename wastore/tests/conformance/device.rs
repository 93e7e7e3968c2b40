//! DeviceStore cases: create, exists, save, load, and the defaulted methods.

use wacore::store::Device;

use crate::harness::Env;

/// `Device` has no `PartialEq`; its persisted form is its serde JSON.
fn json(d: &Device) -> serde_json::Value {
    serde_json::to_value(d).expect("device json")
}

pub async fn device_lifecycle(env: &Env) {
    let b = env.backend("ph_a");
    assert!(!b.exists().await.unwrap());
    assert!(b.load().await.unwrap().is_none());

    // create() materialises a fresh device, so exists() and load() see it.
    let id = b.create().await.unwrap();
    assert!(id >= 1);
    assert!(b.exists().await.unwrap());
    let created = b.load().await.unwrap().expect("device after create");
    assert_eq!(created.push_name, "");

    let mut dev = created.clone();
    dev.push_name = "Wadesk".into();
    dev.registration_id = 4242;
    dev.next_pre_key_id = 812;
    dev.login_counter = 3;
    dev.lid_migrated = true;
    dev.edge_routing_info = Some(vec![1, 2, 3]);
    dev.props_hash = Some("hash".into());
    dev.pn = Some("5511987650001@s.whatsapp.net".parse().unwrap());
    dev.lid = Some("100000012345678@lid".parse().unwrap());
    b.save(&dev).await.unwrap();
    let loaded = b.load().await.unwrap().expect("saved device");
    assert_eq!(json(&loaded), json(&dev));
    // The keys are the ones create() made.
    assert_eq!(
        loaded.identity_key.public_key,
        created.identity_key.public_key
    );

    // create() again never replaces an existing device.
    b.create().await.unwrap();
    let again = b.load().await.unwrap().unwrap();
    assert_eq!(again.push_name, "Wadesk");
    assert_eq!(json(&again), json(&dev));

    // A brand-new device saved without create().
    let other = env.backend("ph_b");
    let fresh = Device::new();
    other.save(&fresh).await.unwrap();
    assert!(other.exists().await.unwrap());
    assert_eq!(json(&other.load().await.unwrap().unwrap()), json(&fresh));

    // Defaulted methods stay harmless.
    b.snapshot_db("conformance", Some(b"x")).await.unwrap();
    let _ = b.resource_report().await;
}
