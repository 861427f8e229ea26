//! The support module's part of the demo scenario (`serve --demo`), run after the directory
//! demo in the same transaction: notices for everyone, for the owner and for the partners,
//! and the support documents — short Japanese manuals, a system overview and the FAQ as PDFs
//! generated here with keiyaku's own PDF writer, the FAQ and the support information as text.

use crate::documents::{self, NewDocument};
use crate::notices::{self, NoticeInput};
use crate::{Category, SupportConfig, SupportError};
use keiyaku_auth::demo::DEMO_TENANT;
use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory;
use keiyaku_kernel::store::{StoreError, Tx};

fn store_err(e: SupportError) -> StoreError {
    match e {
        SupportError::Store(s) => s,
        other => StoreError::Database(format!("support demo data: {other}")),
    }
}

/// The demo notices: (title, body, audience).
pub fn demo_notices(base: &str) -> Vec<(String, String, &'static str)> {
    let t = format!("{base}/t/{DEMO_TENANT}");
    vec![
        (
            "電子契約サービス(トライアル環境)へようこそ".into(),
            format!(
                "この環境はデモ用のトライアル環境です。デモユーザーのパスワードはすべて共通です。\n\
                 操作方法はサポートページの利用説明資料をご覧ください: {t}/support\n\
                 送信されたメールはメールボックスで確認できます: {base}/mailbox"
            ),
            "all",
        ),
        (
            "JCAN証明書の購入と発行申請について".into(),
            format!(
                "署名者の方は、JCAN証明書発行チケットを購入のうえ、証明書の発行申請を行ってください。\n\
                 チケット購入: {t}/tickets/order\n\
                 発行申請: {t}/certificates/apply\n\
                 発行完了後、証明書は署名者のユーザーに自動で登録されます。"
            ),
            "partners",
        ),
        (
            "注文書・請書の回覧ルートについて(社内向け)".into(),
            "注文書・請書は、承認者 → 取引先担当者 → 取引先承認者 → 取引先署名者 → 管理部 → 署名者 の順に回覧されます。\n\
             確認待ちの文書はダッシュボードの「確認待ち文書」に件数が表示されます。"
                .into(),
            "owner",
        ),
    ]
}

/// The FAQ as plain text.
pub fn faq_text(base: &str) -> String {
    let t = format!("{base}/t/{DEMO_TENANT}");
    format!(
        "よくあるご質問(FAQ)\n\
         \n\
         Q1. ログインIDは何ですか。\n\
         A1. オリエンタル白石の業者コードに2桁の枝番を付けたものです(例: A1533601)。メールアドレスでもログインできます。\n\
         \n\
         Q2. 初回ログイン時にパスワードの変更を求められました。\n\
         A2. 初期パスワードは仮のものです。画面に表示される条件に従って新しいパスワードを設定してください。\n\
         \n\
         Q3. パスワードを忘れました。\n\
         A3. 御社のグループ管理者にパスワードの再発行を依頼してください。\n\
         \n\
         Q4. 電子証明書はどのように入手しますか。\n\
         A4. サポートページの「JCAN証明書関連」から、チケット番号の購入と発行申請を行います: {t}/support\n\
         \n\
         Q5. 署名の操作を他の人に任せられますか。\n\
         A5. ユーザー管理で署名者に「署名操作代行ユーザー」を設定すると、そのユーザーが代わりに操作できます。\n"
    )
}

/// The support information as plain text.
pub fn info_text() -> String {
    "サポート窓口のご案内\n\
     \n\
     電子契約サービスの操作に関するお問い合わせは、オリエンタル白石 電子契約サービスサポートまでご連絡ください。\n\
     受付時間: 平日 9:00〜17:00(土日祝日・年末年始を除く)\n"
        .into()
}

/// A section of a generated document: a heading and its paragraphs.
pub type Section = (&'static str, Vec<&'static str>);

/// The demo user manual (ユーザーズマニュアル).
pub fn manual_sections() -> Vec<Section> {
    vec![
        (
            "1. ログイン",
            vec![
                "ユーザー登録が完了すると「ユーザー登録通知」のメールが届きます。",
                "メールのURLからログイン画面を開き、ユーザーID(またはメールアドレス)とパスワードを入力します。",
                "初回ログイン時はパスワードの変更が必要です。画面に表示される条件に従って新しいパスワードを設定してください。",
            ],
        ),
        (
            "2. ダッシュボード",
            vec![
                "画面上部に会社名、お知らせページ・サポートページ・モバイル版へ・ログアウトのリンク、ログインユーザー名と前回ログイン日時が表示されます。",
                "確認待ち文書には、承認者・取引先担当者・管理部・署名者ごとに確認を待っている文書の件数が表示されます。",
                "お知らせは「リフレッシュ」で最新の内容に更新できます。サポート情報から資料をダウンロードできます。",
            ],
        ),
        (
            "3. JCAN証明書関連",
            vec![
                "サポートページの「JCAN証明書関連」から、JCAN証明書発行チケットを購入します。",
                "チケット番号が届いたら、同じくサポートページから証明書の発行申請を行います。",
                "発行された証明書は署名者のユーザーに自動で登録されます。",
            ],
        ),
        (
            "4. 利用状況照会",
            vec![
                "毎月の電子契約サービスの利用状況(ログイン回数、証明書、チケット、メール送信など)を確認し、CSVでダウンロードできます。",
            ],
        ),
    ]
}

/// The demo administrator manual (管理者マニュアル).
pub fn admin_manual_sections() -> Vec<Section> {
    vec![
        (
            "1. ユーザー管理",
            vec![
                "グループ管理者は「管理メニュー」の「ユーザー管理」から、自分のグループのユーザーを登録・変更できます。",
                "新規ユーザーには「ユーザー登録通知」のメールで初期パスワードが送られます。",
                "署名者の詳細画面では、印影・電子証明書・署名操作代行ユーザーを確認できます。",
            ],
        ),
        (
            "2. お知らせとサポート資料",
            vec![
                "サービスオーナーのグループ管理者は、お知らせページでお知らせを登録できます。掲載期間と対象(全員・サービスオーナー・取引先)を指定できます。",
                "サポートページでは、利用説明資料・電子帳簿保存法関連資料・よくあるご質問・サポート情報の資料をアップロードできます。",
            ],
        ),
    ]
}

/// The demo system overview for the 電子帳簿保存法 section (システム概要書).
pub fn overview_sections() -> Vec<Section> {
    vec![
        (
            "1. システムの概要",
            vec![
                "本サービスは、注文書・請書などの取引文書を電子的に作成・回覧・署名し、保存する電子契約サービスです。",
                "すべての操作は操作履歴(監査ログ)として記録されます。",
            ],
        ),
        (
            "2. 電子帳簿保存法への対応",
            vec![
                "取引年月日・取引金額・取引先で検索でき、二つ以上の条件を組み合わせた検索ができます。",
                "保存された文書にはSHA-256のハッシュ値を記録し、改ざんを検知できます。",
            ],
        ),
    ]
}

/// The FAQ as sections, for its PDF.
pub fn faq_sections() -> Vec<Section> {
    vec![
        (
            "Q1. ログインIDは何ですか。",
            vec![
                "A. オリエンタル白石の業者コードに2桁の枝番を付けたものです(例: A1533601)。メールアドレスでもログインできます。",
            ],
        ),
        ("Q2. パスワードを忘れました。", vec!["A. 御社のグループ管理者にパスワードの再発行を依頼してください。"]),
        (
            "Q3. 電子証明書はどのように入手しますか。",
            vec!["A. サポートページの「JCAN証明書関連」から、チケット番号の購入と発行申請を行います。"],
        ),
    ]
}

/// A short A4 document made by keiyaku's own PDF writer: a title, a subtitle, a rule, and the
/// sections (headings in ゴシック, text in 明朝), with new pages as needed.
pub fn render_pdf(title: &str, subtitle: &str, sections: &[Section]) -> Vec<u8> {
    use keiyaku_kernel::pdf::{A4, Document, Font};
    const MARGIN: f32 = 56.0;
    let (width, height) = A4;
    let text_width = width - 2.0 * MARGIN;
    let mut doc = Document::new().title(title);
    let mut page = doc.add_page();
    page.font(Font::Gothic).text(MARGIN, 84.0, 20.0, title);
    page.font(Font::Mincho).text(MARGIN, 108.0, 10.5, subtitle);
    page.line(MARGIN, 118.0, width - MARGIN, 118.0, 0.6);
    let mut y = 148.0;
    for (heading, paragraphs) in sections {
        if y > height - 140.0 {
            page = doc.add_page();
            y = 72.0;
        }
        page.font(Font::Gothic).text(MARGIN, y, 13.0, heading);
        y += 22.0;
        page.font(Font::Mincho);
        for p in paragraphs {
            if y > height - 72.0 {
                page = doc.add_page();
                page.font(Font::Mincho);
                y = 72.0;
            }
            y = page.text_wrapped(MARGIN, y, text_width, 10.5, 17.0, p) + 5.0;
        }
        y += 14.0;
    }
    doc.to_bytes()
}

/// The demo's generated PDFs: (category, file name, content).
pub fn demo_pdfs() -> Vec<(Category, &'static str, Vec<u8>)> {
    let sub = "電子契約サービス 協力業者様向け(デモ版)";
    vec![
        (Category::Manual, "ユーザーズマニュアル.pdf", render_pdf("ユーザーズマニュアル", sub, &manual_sections())),
        (Category::Manual, "管理者マニュアル.pdf", render_pdf("管理者マニュアル", sub, &admin_manual_sections())),
        (Category::EbookLaw, "システム概要書.pdf", render_pdf("システム概要書", sub, &overview_sections())),
        (Category::Faq, "FAQ.pdf", render_pdf("よくあるご質問(FAQ)", sub, &faq_sections())),
    ]
}

pub fn seed(kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
    if directory::get_tenant(tx, DEMO_TENANT)?.is_none() {
        return Ok(());
    }
    let actor = Actor::system();
    let base = kernel.public_url();
    for (title, body, audience) in demo_notices(&base) {
        let input = NoticeInput { title, body, audience: Some(audience.into()), publish_at: None, expire_at: None };
        notices::create(tx, &actor, DEMO_TENANT, &input).map_err(store_err)?;
    }
    let mut files: Vec<(Category, &str, Vec<u8>)> =
        vec![(Category::Info, "サポート窓口のご案内.txt", info_text().into_bytes())];
    files.extend(demo_pdfs());
    files.push((Category::Faq, "FAQ.txt", faq_text(&base).into_bytes()));
    let max = kernel.config.section::<SupportConfig>().max_document_bytes;
    for (category, name, bytes) in files {
        let new = NewDocument { category: category.as_str().into(), file_name: name.into(), bytes };
        documents::store(tx, &actor, DEMO_TENANT, max, &new).map_err(store_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::{Kind, sniff};

    #[test]
    fn generated_pdfs_are_pdfs_and_pass_the_upload_checks() {
        for (category, name, bytes) in demo_pdfs() {
            assert_eq!(sniff(&bytes), Some(Kind::Pdf), "{name}");
            let new = NewDocument { category: category.as_str().into(), file_name: name.into(), bytes };
            assert!(documents::check(&new, 20 * 1024 * 1024).is_ok(), "{name}");
        }
        assert_eq!(sniff(faq_text("https://localhost:8443").as_bytes()), Some(Kind::Text));
    }

    #[test]
    fn long_documents_flow_onto_more_pages() {
        let many: Vec<Section> = (0..40).map(|_| ("見出し", vec!["本文です。"; 3])).collect();
        let long = render_pdf("題名", "副題", &many);
        let short = render_pdf("題名", "副題", &many[..1]);
        assert_eq!(sniff(&long), Some(Kind::Pdf));
        let pages = |b: &[u8]| String::from_utf8_lossy(b).matches("/MediaBox").count();
        assert!(pages(&long) > pages(&short), "{} {}", pages(&long), pages(&short));
    }
}
