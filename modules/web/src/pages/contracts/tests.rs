use super::forms::*;
use super::views::*;
use crate::query::Pairs;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Lang;
use keiyaku_kernel::error::FieldError;

#[test]
fn yen_has_commas() {
    assert_eq!(yen(0), "¥0");
    assert_eq!(yen(999), "¥999");
    assert_eq!(yen(1000), "¥1,000");
    assert_eq!(yen(1_980_000), "¥1,980,000");
    assert_eq!(yen(-1_234_567), "-¥1,234,567");
}

#[test]
fn amounts_parse_leniently() {
    assert_eq!(parse_amount(""), Ok(None));
    assert_eq!(parse_amount("¥1,980,000"), Ok(Some(1_980_000)));
    assert_eq!(parse_amount("12円"), Ok(Some(12)));
    assert!(parse_amount("1e3").is_err());
}

#[test]
fn criteria_round_trip_and_check_amounts() {
    let p = Pairs::parse("counterparty=A15336&title=%E6%B8%AC%E9%87%8F&amount_min=x&page=2&bogus=1");
    let c = Criteria::of(&p);
    assert_eq!(c.get("title"), "測量");
    assert_eq!(c.query(&[]), "amount_min=x&counterparty=A15336&title=%E6%B8%AC%E9%87%8F");
    assert_eq!(
        c.query(&[("sort", "amount"), ("page", "")]),
        "amount_min=x&counterparty=A15336&title=%E6%B8%AC%E9%87%8F&sort=amount"
    );
    let errs = c.input(Lang::Ja).err().unwrap_or_default();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "amount_min");
    let ok = Criteria::of(&Pairs::parse("amount_max=1%2C000&status=completed")).input(Lang::Ja);
    let ok = ok.unwrap_or_default();
    assert_eq!((ok.amount_max, ok.status.as_deref()), (Some(1000), Some("completed")));
}

#[test]
fn done_codes_are_fixed() {
    assert_eq!(done_text("registered", Lang::Ja), Some("契約を登録しました。"));
    assert_eq!(done_text("signed", Lang::Ja), Some("署名しました。"));
    assert_eq!(done_text("<x>", Lang::Ja), None);
    assert_eq!(document_href("HXOS2", "C1", "D1", Some(2)), "/t/HXOS2/contracts/C1/documents/D1?version=2");
}

#[test]
fn free_fields_and_route_map_to_the_service() {
    let mut f = RegisterForm { amount: "1,000".into(), ..RegisterForm::default() };
    f.fields[1] = ("工事番号".into(), "K1".into());
    let (new, sent) = new_contract(&f, Vec::new());
    assert_eq!((new.amount, new.fields.len(), sent.as_slice(), new.route.is_none()), (Some(1000), 1, &[1][..], true));
    let mut errors =
        vec![FieldError { field: "fields[0].value".into(), code: FieldCode::Required, message: String::new() }];
    remap_fields(&mut errors, &sent);
    assert_eq!(errors[0].field, "fields[1].value");
    f.route[5] = "HX000003".into();
    let (new, _) = new_contract(&f, Vec::new());
    let route = new.route.unwrap_or_default();
    assert_eq!(route.len(), 6);
    assert_eq!((route[5].role.as_str(), route[5].users.clone()), ("signer", vec!["HX000003".to_string()]));
    assert!(route[0].users.is_empty());
}
