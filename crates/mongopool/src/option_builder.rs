//! Builders for the option structs that will grow (`#[non_exhaustive]`): code outside
//! the crate cannot write them as struct literals, so each gets a builder that starts
//! from the defaults and sets one field per method.

/// Defines `$builder` for `$target` with one setter per listed field, and
/// `$target::builder()`.
macro_rules! option_builder {
    (
        $(#[$doc:meta])*
        $builder:ident for $target:ident {
            $( $(#[$fdoc:meta])* $field:ident: $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        #[must_use]
        pub struct $builder {
            options: $target,
        }

        impl $target {
            /// A builder that starts from the defaults.
            pub fn builder() -> $builder {
                $builder::default()
            }
        }

        impl $builder {
            $(
                $(#[$fdoc])*
                pub fn $field(mut self, value: $ty) -> Self {
                    self.options.$field = value;
                    self
                }
            )*

            /// The options. Returns a `Result` so that checks added later do not
            /// change the signature; today every combination is accepted.
            pub fn build(self) -> crate::error::Result<$target> {
                Ok(self.options)
            }
        }
    };
}

pub(crate) use option_builder;
