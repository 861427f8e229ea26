//! Issue 14 (scope 8): the visible stamp never covers page text. A contract whose PDF has
//! text where the stamp used to go (the bottom-right corner) is signed to completion by two
//! signers; no word poppler's `pdftotext -bbox` finds on the original page lies under a
//! signature widget of the signed PDF. A position the caller gives is still honoured.
//!
//! Tools: `apt-get install poppler-utils`. Outside CI a missing tool skips that check with a
//! message; under CI it fails.

#![cfg(feature = "contracts")]

use crate::common::*;
use crate::contracts::{act, b64, contract_body, download, register, tool};
use reqwest::StatusCode;
use serde_json::json;

const T: &str = "/api/v1/t/HXOS2";
const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 36.0;
const STAMP: (f32, f32) = (150.0, 64.0);

/// A line of Helvetica text: x and y of its baseline start (PDF coordinates), size, text.
type Line = (f32, f32, f32, &'static str);

/// The page's text: a title, body lines on the left, and blocks in both bottom corners.
const LINES: &[Line] = &[
    (56.0, 790.0, 18.0, "purchase order t-place"),
    (56.0, 740.0, 11.0, "the goods below are ordered on the terms agreed"),
    (56.0, 720.0, 11.0, "item 1: survey of the site and a report on it"),
    (56.0, 700.0, 11.0, "item 2: design of the footbridge, drawings"),
    (56.0, 680.0, 11.0, "item 3: supervision of the works on site"),
    (56.0, 110.0, 11.0, "delivery: by separate agreement"),
    (56.0, 96.0, 11.0, "payment: end of the next month"),
    (56.0, 82.0, 11.0, "place: koto-ku, tokyo"),
    (56.0, 68.0, 11.0, "contact: the purchasing section"),
    (330.0, 110.0, 12.0, "total amount 1100000 yen"),
    (330.0, 96.0, 12.0, "tax included in the total"),
    (330.0, 82.0, 12.0, "order number t-place"),
    (330.0, 68.0, 12.0, "issued by the head office"),
    (330.0, 54.0, 12.0, "koto-ku, tokyo 135-0061"),
];

/// A one-page A4 PDF with `lines` in Helvetica (no embedded font, no /Widths).
fn text_pdf(lines: &[Line]) -> Vec<u8> {
    let mut content = String::new();
    for (x, y, size, text) in lines {
        content.push_str(&format!("BT /F1 {size} Tf {x} {y} Td ({text}) Tj ET\n"));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            PAGE.0, PAGE.1
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for at in offsets {
        out.extend_from_slice(format!("{at:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// `[x0, y0, x1, y1]` from the page's top-left corner.
type Area = [f32; 4];

fn intersects(a: &Area, b: &Area) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// The `/Rect` of every visible signature widget in `pdf` (each once), turned to top-left
/// coordinates. keiyaku writes its incremental updates uncompressed, one object per
/// `obj … endobj`, so the widgets are read from the file's text.
fn widget_rects(pdf: &[u8]) -> Vec<Area> {
    let text = String::from_utf8_lossy(pdf);
    let mut out: Vec<Area> = Vec::new();
    for object in text.split("endobj") {
        if !object.contains("/Subtype /Widget") {
            continue;
        }
        let Some(at) = object.find("/Rect") else { continue };
        let Some(inner) = object[at + 5..].trim_start().strip_prefix('[').and_then(|r| r.split(']').next()) else {
            continue;
        };
        let v: Vec<f32> = inner.split_whitespace().filter_map(|t| t.parse().ok()).collect();
        let [a, b, c, d] = v[..] else { continue };
        let (x0, x1, y0, y1) = (a.min(c), a.max(c), b.min(d), b.max(d));
        if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
            continue; // the document time-stamp's invisible field
        }
        let r = [x0, PAGE.1 - y1, x1, PAGE.1 - y0];
        if !out.iter().any(|o| o.iter().zip(&r).all(|(p, q)| (p - q).abs() < 0.01)) {
            out.push(r);
        }
    }
    out
}

/// Word boxes of page 1 by `pdftotext -bbox` (top-left coordinates), or None without the tool.
fn words(pdf: &[u8]) -> Option<Vec<(String, Area)>> {
    if !tool("pdftotext") {
        return None;
    }
    let dir = tempdir("placement");
    let file = dir.join("original.pdf");
    std::fs::write(&file, pdf).expect("write");
    let out = std::process::Command::new("pdftotext")
        .args(["-bbox", "-f", "1", "-l", "1"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    let attr = |tag: &str, name: &str| -> f32 {
        let start = tag.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        tag[start..].split('"').next().and_then(|v| v.parse().ok()).expect(name)
    };
    let mut found = Vec::new();
    for part in html.split("<word ").skip(1) {
        let (tag, rest) = part.split_once('>').expect("word tag");
        let word = rest.split("</word>").next().unwrap_or_default().to_string();
        found.push((word, [attr(tag, "xMin"), attr(tag, "yMin"), attr(tag, "xMax"), attr(tag, "yMax")]));
    }
    Some(found)
}

/// The contract's document now.
async fn document(app: &TestApp, token: &str, id: &str) -> Vec<u8> {
    let (s, ct, pdf) = download(app, token, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    pdf
}

#[tokio::test(flavor = "multi_thread")]
async fn default_stamps_and_reserved_fields_avoid_the_page_text() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let owner_signer = app.demo_token("HX000003").await;
    let partner_signer = app.demo_token("A1533602").await;
    let original = text_pdf(LINES);

    // Two signers: the first signature certifies the document and reserves the second's
    // field; the second fills it.
    let mut body = contract_body("T-PLACE-1", "2026-11-25", 10_000, "A15336");
    body["documents"][0]["content_base64"] = json!(b64(&original));
    body["route"] = json!([{"party": "owner", "role": "signer"}, {"party": "partner", "role": "signer"}]);
    let c = register(&app, &registrant, body).await;
    let id = c["id"].as_str().expect("id").to_string();
    let (s, v) = act(&app, &owner_signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("circulating")), "{v}");
    let first = document(&app, &registrant, &id).await;
    let reserved = widget_rects(&first);
    assert_eq!(reserved.len(), 2, "the stamp and the field reserved for the partner: {reserved:?}");
    // The partner's stamp goes into that field: a position is refused.
    let (s, v) = act(&app, &partner_signer, &id, "sign", json!({"pin": DEMO_PIN, "x": 40.0, "y": 40.0})).await;
    assert_eq!((s, v["errors"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("position_fixed")), "{v}");
    let (s, v) = act(&app, &partner_signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("completed")), "{v}");

    let signed = document(&app, &registrant, &id).await;
    assert!(signed.starts_with(&original));
    let ours = keiyaku_pades::verify(&signed).expect("verify");
    assert_eq!(ours.len(), 3, "two signatures and the document time-stamp: {ours:?}");
    assert!(ours.iter().all(|s| s.is_intact()), "{ours:?}");
    let widgets = widget_rects(&signed);
    assert_eq!(widgets, reserved, "the second signature filled the reserved field");

    // Inside the page less the margin, apart from each other.
    for w in &widgets {
        assert!(w[0] >= MARGIN && w[1] >= MARGIN && w[2] <= PAGE.0 - MARGIN && w[3] <= PAGE.1 - MARGIN, "{w:?}");
        assert!(((w[2] - w[0]) - STAMP.0).abs() < 0.01 && ((w[3] - w[1]) - STAMP.1).abs() < 0.01, "{w:?}");
    }
    assert!(!intersects(&widgets[0], &widgets[1]), "{widgets:?}");

    // Clear of the text as laid out (Helvetica is narrower than 0.6 em a character on
    // average; from 0.3 em below the baseline to 1 em above it).
    for (x, y, size, text) in LINES {
        let line = [*x, PAGE.1 - y - size, x + 0.6 * size * text.len() as f32, PAGE.1 - y + 0.3 * size];
        for w in &widgets {
            assert!(!intersects(w, &line), "{w:?} covers {text:?} at {line:?}");
        }
    }

    // Clear of every word poppler finds on the original page.
    if let Some(words) = words(&original) {
        assert!(words.len() > 50, "{words:?}");
        // The old default place, the bottom-right corner, has text: the test means something.
        let corner = [PAGE.0 - MARGIN - STAMP.0, PAGE.1 - MARGIN - STAMP.1, PAGE.0 - MARGIN, PAGE.1 - MARGIN];
        assert!(words.iter().any(|(_, b)| intersects(b, &corner)), "{words:?}");
        for w in &widgets {
            for (word, b) in &words {
                assert!(!intersects(w, b), "the stamp {w:?} covers {word:?} at {b:?}");
            }
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_the_caller_gives_is_honoured() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let owner_signer = app.demo_token("HX000003").await;
    let original = text_pdf(LINES);
    let mut ids = Vec::new();
    for number in ["T-PLACE-2", "T-PLACE-3"] {
        let mut body = contract_body(number, "2026-11-25", 10_000, "A15336");
        body["documents"][0]["content_base64"] = json!(b64(&original));
        body["route"] = json!([{"party": "owner", "role": "signer"}]);
        let c = register(&app, &registrant, body).await;
        ids.push(c["id"].as_str().expect("id").to_string());
    }

    // Over the text even: the caller decides.
    let (s, v) =
        act(&app, &owner_signer, &ids[0], "sign", json!({"pin": DEMO_PIN, "page": 1, "x": 60.0, "y": 50.0})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("completed")), "{v}");
    let widgets = widget_rects(&document(&app, &registrant, &ids[0]).await);
    assert_eq!(widgets, vec![[60.0, 50.0, 60.0 + STAMP.0, 50.0 + STAMP.1]]);

    // A coordinate that would put the stamp off the page is not taken: the free spot's is.
    let (s, v) = act(&app, &owner_signer, &ids[1], "sign", json!({"pin": DEMO_PIN, "x": 5000.0, "y": 300.0})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("completed")), "{v}");
    let widgets = widget_rects(&document(&app, &registrant, &ids[1]).await);
    assert_eq!(widgets.len(), 1, "{widgets:?}");
    let [x0, y0, x1, _] = widgets[0];
    assert!((y0 - 300.0).abs() < 0.01, "{widgets:?}");
    assert!(x0 >= MARGIN && x1 <= PAGE.0 - MARGIN, "{widgets:?}");
    app.stop().await;
}
