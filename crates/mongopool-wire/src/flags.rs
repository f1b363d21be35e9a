//! The bit-flag newtypes of the messages (`MsgFlags`, `QueryFlags`, ...), generated
//! by one macro so that they all behave the same.

/// Defines a `pub struct $name(pub u32)` with named single-bit constants and the
/// usual set operations. Unknown bits are kept as they are: a decoded value encodes
/// back to the same bits.
macro_rules! wire_flags {
    (
        $(#[$meta:meta])*
        pub struct $name:ident;
        $( $(#[$flag_meta:meta])* const $flag:ident = $bit:expr; )*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            /// No bit set.
            pub const EMPTY: $name = $name(0);
            $( $(#[$flag_meta])* pub const $flag: $name = $name(1 << $bit); )*

            /// The raw bits.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// `self` with the bits of `other` set.
            #[must_use]
            pub const fn with(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// `self` with the bits of `other` cleared.
            #[must_use]
            pub const fn without(self, other: $name) -> $name {
                $name(self.0 & !other.0)
            }

            /// Sets the bits of `other`.
            pub fn insert(&mut self, other: $name) {
                self.0 |= other.0;
            }

            /// Clears the bits of `other`.
            pub fn remove(&mut self, other: $name) {
                self.0 &= !other.0;
            }

            /// Sets or clears the bits of `other`.
            pub fn set(&mut self, other: $name, on: bool) {
                if on {
                    self.insert(other)
                } else {
                    self.remove(other)
                }
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;

            fn bitor(self, rhs: $name) -> $name {
                self.with(rhs)
            }
        }

        impl std::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                self.insert(rhs)
            }
        }
    };
}

pub(crate) use wire_flags;

#[cfg(test)]
mod tests {
    wire_flags! {
        /// Flags for the test.
        pub struct TestFlags;
        /// Bit 0.
        const A = 0;
        /// Bit 3.
        const B = 3;
    }

    #[test]
    fn set_operations_touch_only_their_bits() {
        let mut f = TestFlags(0x100);
        assert!(!f.contains(TestFlags::A));
        f.insert(TestFlags::A);
        f |= TestFlags::B;
        assert_eq!(f.bits(), 0x109);
        assert!(f.contains(TestFlags::A | TestFlags::B));
        f.remove(TestFlags::A);
        assert_eq!(f, TestFlags(0x108));
        f.set(TestFlags::A, true);
        f.set(TestFlags::B, false);
        assert_eq!(f, TestFlags(0x101));
        assert_eq!(f.without(TestFlags::A), TestFlags(0x100));
        assert!(TestFlags::EMPTY.contains(TestFlags::EMPTY));
        assert_eq!(TestFlags::default(), TestFlags::EMPTY);
    }
}
