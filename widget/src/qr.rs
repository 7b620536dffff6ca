//! QR codes as inline SVG, for WeChat Pay's Native `code_url`: no image request, crisp at any
//! size, and styled by the widget's own CSS.

use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of light margin around the code, as the QR specification asks for.
const QUIET_ZONE: i32 = 4;

/// A QR code ready for `<svg viewBox=..><path d=../></svg>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSvg {
    pub view_box: String,
    /// One `M x y h1 v1 h-1 z` square per dark module.
    pub path: String,
}

/// The QR code of `text` at medium error correction (15 %, what phone scanners expect), or
/// `None` if the text is too long for any QR version.
pub fn qr_svg(text: &str) -> Option<QrSvg> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
    }
    let side = size + 2 * QUIET_ZONE;
    Some(QrSvg {
        view_box: format!("{} {} {side} {side}", -QUIET_ZONE, -QUIET_ZONE),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wechat_code_url_becomes_a_square_code_with_finder_patterns() {
        let svg = qr_svg("weixin://wxpay/bizpayurl?pr=abc1234").unwrap();
        // 34 bytes at level M need version 3: 29 modules, plus the quiet zone on each side.
        assert_eq!(svg.view_box, "-4 -4 37 37");
        // The three finder patterns' corners are dark; the separator beside them is light.
        for corner in ["M0 0h", "M28 0h", "M0 28h", "M6 6h"] {
            assert!(svg.path.contains(corner), "{corner}");
        }
        assert!(!svg.path.contains("M7 0h"));
    }

    #[test]
    fn text_beyond_any_version_has_no_code() {
        assert_eq!(qr_svg(&"x".repeat(5000)), None);
    }
}
