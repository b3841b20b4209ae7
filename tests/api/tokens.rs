//! Token tampering: every forged or altered token is the same 401.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

struct Minted {
    key: EncodingKey,
    kid: String,
    public_key: Vec<u8>,
}

/// The app's own signing key, read from its data directory, so the test can
/// mint tokens that differ from a real one in exactly one respect.
fn app_key(app: &TestApp) -> Minted {
    let pem = std::fs::read(&app.settings.token_key_file).unwrap();
    let verifying = sijill::keys::load_verifying_key(&app.settings.token_key_file).unwrap();
    Minted {
        key: EncodingKey::from_ed_pem(&pem).unwrap(),
        kid: sijill::keys::key_id(&verifying),
        public_key: verifying.as_bytes().to_vec(),
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(minted: &Minted, header_edit: impl FnOnce(&mut Header), claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(minted.kid.clone());
    header_edit(&mut header);
    jsonwebtoken::encode(&header, claims, &minted.key).unwrap()
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn tampered_and_forged_tokens_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let (real, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    let claims = claims_of(&real);
    let minted = app_key(&app);
    let now = chrono::Utc::now().timestamp();

    // The control: a token minted here the way the server mints them is accepted,
    // so each refusal below is due to its one difference.
    let control = sign(&minted, |_| {}, &claims);
    assert_eq!(
        app.get("/api/v1/auth/me", &control).await.status(),
        StatusCode::OK
    );

    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        edit(&mut c);
        c
    };
    let mut forged: Vec<(&str, String)> = Vec::new();

    // A flipped byte in the signature.
    let mut bytes = real.clone().into_bytes();
    let sig_start = real.rfind('.').unwrap() + 1;
    let i = sig_start + 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    forged.push(("flipped signature byte", String::from_utf8(bytes).unwrap()));
    // A changed claim under the original signature.
    let (head, rest) = real.split_once('.').unwrap();
    let sig = rest.rsplit_once('.').unwrap().1;
    let elevated = with(&|c| c["sub"] = json!(uuid::Uuid::now_v7().to_string()));
    forged.push((
        "payload swapped",
        format!(
            "{head}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(elevated.to_string())
        ),
    ));
    forged.push((
        "alg none",
        unsigned(
            &json!({"alg": "none", "typ": "at+jwt", "kid": minted.kid}),
            &claims,
        ),
    ));
    // HS256 keyed with the public key (the classic algorithm confusion).
    let hs = jsonwebtoken::encode(
        &{
            let mut h = Header::new(Algorithm::HS256);
            h.typ = Some("at+jwt".into());
            h.kid = Some(minted.kid.clone());
            h
        },
        &claims,
        &EncodingKey::from_secret(&minted.public_key),
    )
    .unwrap();
    forged.push(("HS256 with the public key", hs));
    forged.push((
        "expired",
        sign(
            &minted,
            |_| {},
            &with(&|c| {
                c["iat"] = json!(now - 7200);
                c["nbf"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            }),
        ),
    ));
    forged.push((
        "future nbf",
        sign(&minted, |_| {}, &with(&|c| c["nbf"] = json!(now + 3600))),
    ));
    forged.push((
        "future iat",
        sign(&minted, |_| {}, &with(&|c| c["iat"] = json!(now + 3600))),
    ));
    forged.push((
        "wrong aud",
        sign(&minted, |_| {}, &with(&|c| c["aud"] = json!("another-api"))),
    ));
    forged.push((
        "wrong iss",
        sign(
            &minted,
            |_| {},
            &with(&|c| c["iss"] = json!("someone-else")),
        ),
    ));
    forged.push((
        "wrong typ claim",
        sign(&minted, |_| {}, &with(&|c| c["typ"] = json!("refresh"))),
    ));
    for claim in [
        "iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti", "typ",
    ] {
        let without = with(&|c| {
            c.as_object_mut().unwrap().remove(claim);
        });
        forged.push((claim, sign(&minted, |_| {}, &without)));
    }
    forged.push(("no typ header", sign(&minted, |h| h.typ = None, &claims)));
    forged.push((
        "JWT typ header",
        sign(&minted, |h| h.typ = Some("JWT".into()), &claims),
    ));
    forged.push((
        "unknown kid",
        sign(
            &minted,
            |h| h.kid = Some("0123456789abcdef".into()),
            &claims,
        ),
    ));
    forged.push(("no kid", sign(&minted, |h| h.kid = None, &claims)));
    forged.push((
        "unknown session",
        sign(
            &minted,
            |_| {},
            &with(&|c| c["sid"] = json!(uuid::Uuid::now_v7().to_string())),
        ),
    ));
    forged.push(("garbage", "not.a.token".into()));
    forged.push(("empty", String::new()));

    for (what, token) in forged {
        let res = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{what} was accepted"
        );
        assert_problem(res, 401, "unauthorized").await;
    }

    // Not a bearer scheme at all.
    let res = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header(
            "Authorization",
            format!("Basic {}", URL_SAFE_NO_PAD.encode("admin:x")),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

async fn a_token_from_a_rotated_key_is_accepted_while_listed(engine: Engine) {
    let app = spawn_app(engine).await;
    let (old_token, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    // Rotate: a new signing key; the old one listed as a verify key.
    let mut settings = app.settings.clone();
    let old_key = settings.token_key_file.clone();
    settings.token_key_file = app.db.dir.join("data").join("token-signing-key-2.pem");
    settings.token_verify_key_files = vec![old_key];
    let old_kid = serde_json::to_value(&app_key(&app).kid).unwrap();
    let rotated = spawn_on(app.stop().await, settings.clone()).await;
    assert_eq!(
        rotated.get("/api/v1/auth/me", &old_token).await.status(),
        StatusCode::OK
    );
    let (new_token, _) = rotated.login_ok("admin", ADMIN_PASSWORD).await;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(new_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_ne!(header["kid"], old_kid);

    // Once the old key is no longer listed, its tokens are refused.
    settings.token_verify_key_files.clear();
    let later = spawn_on(rotated.stop().await, settings).await;
    assert_problem(
        later.get("/api/v1/auth/me", &old_token).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(
        later.get("/api/v1/auth/me", &new_token).await.status(),
        StatusCode::OK
    );
}

scenarios! {
    both: [
        tampered_and_forged_tokens_are_refused,
        a_token_from_a_rotated_key_is_accepted_while_listed,
    ],
}
