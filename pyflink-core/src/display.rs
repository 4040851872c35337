//! Formatting values the way Flink's `toString()` prints them, for the print sink.

/// Formats a value as Flink prints it: tuples as `(a,5)`, lists as `[a, b]`, absent values as
/// `null`, strings without quotes.
///
/// ```
/// use pyflink_core::FlinkDisplay;
/// assert_eq!(("flink".to_string(), 5i64).to_flink_string(), "(flink,5)");
/// assert_eq!(vec![1, 2].to_flink_string(), "[1, 2]");
/// assert_eq!(None::<i32>.to_flink_string(), "null");
/// assert_eq!(2.0f64.to_flink_string(), "2.0");
/// ```
pub trait FlinkDisplay {
    /// Appends the value's Flink text to `out`.
    fn fmt_flink(&self, out: &mut String);

    /// The value's Flink text.
    fn to_flink_string(&self) -> String {
        let mut out = String::new();
        self.fmt_flink(&mut out);
        out
    }
}

macro_rules! display_as_is {
    ($($t:ty),*) => {$(
        impl FlinkDisplay for $t {
            fn fmt_flink(&self, out: &mut String) {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
display_as_is!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, bool, char, str, String);

macro_rules! display_float {
    ($($t:ty),*) => {$(
        impl FlinkDisplay for $t {
            fn fmt_flink(&self, out: &mut String) {
                use std::fmt::Write;
                // Debug keeps a fractional part on whole numbers ("2.0"), as Java does.
                let _ = write!(out, "{self:?}");
            }
        }
    )*};
}
display_float!(f32, f64);

impl<T: FlinkDisplay + ?Sized> FlinkDisplay for &T {
    fn fmt_flink(&self, out: &mut String) {
        (**self).fmt_flink(out)
    }
}

impl<T: FlinkDisplay> FlinkDisplay for Option<T> {
    fn fmt_flink(&self, out: &mut String) {
        match self {
            Some(v) => v.fmt_flink(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: FlinkDisplay> FlinkDisplay for Vec<T> {
    fn fmt_flink(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            v.fmt_flink(out);
        }
        out.push(']');
    }
}

macro_rules! display_tuple {
    ($($name:ident)+) => {
        impl<$($name: FlinkDisplay),+> FlinkDisplay for ($($name,)+) {
            #[allow(non_snake_case)]
            fn fmt_flink(&self, out: &mut String) {
                let ($($name,)+) = self;
                out.push('(');
                let mut first = true;
                $(
                    if !first { out.push(','); }
                    first = false;
                    $name.fmt_flink(out);
                )+
                let _ = first;
                out.push(')');
            }
        }
    };
}
display_tuple!(A);
display_tuple!(A B);
display_tuple!(A B C);
display_tuple!(A B C D);
display_tuple!(A B C D E);
display_tuple!(A B C D E F);
