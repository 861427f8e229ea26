//! The domain's closed sets in the OpenAPI document. [`OneOf<E>`] is a string on the wire
//! whose schema lists the names of `E` (from the domain's own `ALL` and `as_str`, so the
//! two cannot drift). It accepts any string, exactly as a plain `String` does: the domain
//! parses it and answers an unknown name with its localized 422 on that field, as before.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromMultipartField, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;
use std::borrow::Cow;
use std::marker::PhantomData;

/// A closed set of the domain with its wire names.
pub trait Closed: Copy + PartialEq + Send + Sync + 'static {
    fn all() -> &'static [Self];
    fn name(self) -> &'static str;
    fn parse(s: &str) -> Option<Self> {
        Self::all().iter().copied().find(|v| v.name() == s)
    }
}

/// Makes domain enums [`Closed`] from their `ALL` and `as_str`.
macro_rules! closed {
    ($($ty:ty),* $(,)?) => {
        $(
            impl Closed for $ty {
                fn all() -> &'static [Self] {
                    &<$ty>::ALL
                }

                fn name(self) -> &'static str {
                    <$ty>::as_str(self)
                }
            }
        )*
    };
}

closed!(
    keiyaku_kernel::doc_type::DocType,
    keiyaku_kernel::directory::Role,
    keiyaku_kernel::directory::UserStatus,
    keiyaku_kernel::waiting::WaitingLine,
);
/// Makes the kernel's code sets (whose `ALL` is a slice) [`Closed`].
macro_rules! closed_codes {
    ($($ty:ty),*) => {
        $(
            impl Closed for $ty {
                fn all() -> &'static [Self] {
                    <$ty>::ALL
                }

                fn name(self) -> &'static str {
                    self.as_str()
                }
            }
        )*
    };
}

closed_codes!(keiyaku_kernel::Code, keiyaku_kernel::FieldCode);

#[cfg(feature = "users")]
closed!(keiyaku_users::delegates::MandateState);
#[cfg(feature = "certs")]
closed!(
    keiyaku_certs::model::Delivery,
    keiyaku_certs::model::ApplicantKind,
    keiyaku_certs::model::AppStatus,
    keiyaku_certs::certificates::State,
);
#[cfg(feature = "contracts")]
closed!(
    keiyaku_contracts::model::Tax,
    keiyaku_contracts::model::Party,
    keiyaku_contracts::model::Status,
    keiyaku_contracts::model::EventAction,
    keiyaku_contracts::search::SortKey,
    keiyaku_contracts::search::Order,
);
#[cfg(feature = "support")]
closed!(keiyaku_support::documents::Category, keiyaku_support::notices::Audience);

/// A name of the closed set `E` as the request or response carries it.
pub struct OneOf<E> {
    value: String,
    set: PhantomData<fn() -> E>,
}

impl<E: Closed> OneOf<E> {
    pub fn new(value: String) -> Self {
        OneOf { value, set: PhantomData }
    }

    /// The value as given.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn into_string(self) -> String {
        self.value
    }

    /// The member it names, if any.
    pub fn get(&self) -> Option<E> {
        E::parse(&self.value)
    }
}

impl<E: Closed> From<E> for OneOf<E> {
    fn from(v: E) -> Self {
        OneOf::new(v.name().to_string())
    }
}

impl<E> Default for OneOf<E> {
    fn default() -> Self {
        OneOf { value: String::new(), set: PhantomData }
    }
}

impl<E> Clone for OneOf<E> {
    fn clone(&self) -> Self {
        OneOf { value: self.value.clone(), set: PhantomData }
    }
}

impl<E> std::fmt::Debug for OneOf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

/// The inline schema of a closed set: a string with its names.
pub fn schema<E: Closed>() -> MetaSchemaRef {
    let mut s = MetaSchema::new("string");
    s.enum_items = E::all().iter().map(|v| Value::String(v.name().to_string())).collect();
    MetaSchemaRef::Inline(Box::new(s))
}

impl<E: Closed> Type for OneOf<E> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        schema::<E>()
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.value))
    }

    fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

impl<E: Closed> ParseFromJSON for OneOf<E> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        String::parse_from_json(value).map(OneOf::new).map_err(ParseError::propagate)
    }
}

impl<E: Closed> ParseFromParameter for OneOf<E> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(OneOf::new(value.to_string()))
    }
}

impl<E: Closed> ParseFromMultipartField for OneOf<E> {
    async fn parse_from_multipart(field: Option<poem::web::Field>) -> ParseResult<Self> {
        String::parse_from_multipart(field).await.map(OneOf::new).map_err(ParseError::propagate)
    }
}

impl<E: Closed> ToJSON for OneOf<E> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.value.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member round-trips through the API type, the schema lists exactly the domain's
    /// names, and those are the names the domain stores (serde).
    fn round_trips<E: Closed + serde::Serialize + std::fmt::Debug>() {
        let names: Vec<Value> = E::all().iter().map(|v| Value::String(v.name().into())).collect();
        match schema::<E>() {
            MetaSchemaRef::Inline(s) => {
                assert_eq!(s.ty, "string");
                assert_eq!(s.enum_items, names);
            }
            MetaSchemaRef::Reference(r) => panic!("inline schema expected, got {r}"),
        }
        for v in E::all() {
            let wire = OneOf::from(*v);
            assert_eq!(wire.get(), Some(*v));
            assert_eq!(wire.to_json(), serde_json::to_value(v).ok(), "{v:?}");
            let parsed = OneOf::<E>::parse_from_parameter(v.name()).map(|o| o.get()).ok().flatten();
            assert_eq!(parsed, Some(*v));
        }
        assert_eq!(OneOf::<E>::new("no such name".into()).get(), None);
        assert!(OneOf::<E>::parse_from_json(Some(Value::String("x".into()))).is_ok(), "any string is accepted");
    }

    #[cfg(feature = "certs")]
    fn round_trips_plain<E: Closed + std::fmt::Debug>() {
        for v in E::all() {
            assert_eq!(OneOf::from(*v).get(), Some(*v));
        }
    }

    #[test]
    fn kernel_sets_round_trip() {
        round_trips::<keiyaku_kernel::Code>();
        round_trips::<keiyaku_kernel::FieldCode>();
        round_trips::<keiyaku_kernel::doc_type::DocType>();
        round_trips::<keiyaku_kernel::directory::Role>();
        round_trips::<keiyaku_kernel::directory::UserStatus>();
        for v in keiyaku_kernel::doc_type::DocType::ALL {
            assert_eq!(keiyaku_kernel::doc_type::DocType::parse(v.name()), Some(v));
        }
    }

    #[cfg(feature = "contracts")]
    #[test]
    fn contract_sets_round_trip() {
        use keiyaku_contracts::model::{Party, Status, Tax};
        use keiyaku_contracts::search::{Order, SortKey};
        round_trips::<Tax>();
        round_trips::<Party>();
        round_trips::<Status>();
        round_trips::<keiyaku_contracts::model::EventAction>();
        round_trips_plain::<SortKey>();
        round_trips_plain::<Order>();
        for k in SortKey::ALL {
            assert_eq!(SortKey::parse(k.name()), Some(k));
        }
        for o in Order::ALL {
            assert_eq!(Order::parse(o.name()), Some(o));
        }
    }

    #[cfg(feature = "users")]
    #[test]
    fn users_sets_round_trip() {
        round_trips::<keiyaku_users::delegates::MandateState>();
    }

    #[cfg(feature = "certs")]
    #[test]
    fn certs_sets_round_trip() {
        use keiyaku_certs::model::{AppStatus, ApplicantKind, Delivery};
        round_trips::<Delivery>();
        round_trips::<ApplicantKind>();
        round_trips::<AppStatus>();
        for d in Delivery::ALL {
            assert_eq!(Delivery::parse(d.name()), Some(d));
        }
        for k in ApplicantKind::ALL {
            assert_eq!(ApplicantKind::parse(k.name()), Some(k));
        }
        round_trips_plain::<keiyaku_certs::certificates::State>();
    }

    #[cfg(feature = "support")]
    #[test]
    fn support_sets_round_trip() {
        round_trips::<keiyaku_support::documents::Category>();
        round_trips::<keiyaku_support::notices::Audience>();
    }
}
