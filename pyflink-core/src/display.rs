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

impl FlinkDisplay for f64 {
    fn fmt_flink(&self, out: &mut String) {
        fmt_java_floating(*self, format_args!("{self:e}"), out)
    }
}

impl FlinkDisplay for f32 {
    fn fmt_flink(&self, out: &mut String) {
        // The shortest digits of the `f32` itself: 0.1f32 prints "0.1", not its f64 widening.
        fmt_java_floating(f64::from(*self), format_args!("{self:e}"), out)
    }
}

/// Lays out a floating-point number as Java's `Double.toString` and `Float.toString` do: plain
/// decimals (with at least one fractional digit) from 10^-3 up to 10^7, computerized scientific
/// notation (`1.0E10`, `1.5E-5`) outside, and `NaN`, `Infinity`, `-Infinity`. `scientific` is
/// the value's shortest round-trip digits in Rust's `{:e}` form (`1.5e-5`).
///
/// ```
/// use pyflink_core::FlinkDisplay;
/// assert_eq!(163.29999923706055f64.to_flink_string(), "163.29999923706055");
/// assert_eq!(1e10f64.to_flink_string(), "1.0E10");
/// assert_eq!(0.00015f64.to_flink_string(), "1.5E-4");
/// assert_eq!(1234567.0f64.to_flink_string(), "1234567.0");
/// assert_eq!(110.1f32.to_flink_string(), "110.1");
/// assert_eq!(f64::NEG_INFINITY.to_flink_string(), "-Infinity");
/// ```
fn fmt_java_floating(value: f64, scientific: std::fmt::Arguments<'_>, out: &mut String) {
    if value.is_nan() {
        return out.push_str("NaN");
    }
    if value.is_infinite() {
        return out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let text = scientific.to_string();
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        // Plain: the point goes after digit `exponent` (counting from 0).
        let point = exponent + 1;
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&exponent.to_string());
    }
}

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
