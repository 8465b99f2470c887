package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers the GIF decoder
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// Image limits.
const (
	maxPixels = 40_000_000 // larger images are refused before they are decoded
	thumbSide = 320        // a thumbnail's longer side, at most
)

// errTooManyPixels refuses an image over maxPixels.
var errTooManyPixels = errors.New("image over 40 megapixels")

// imageTypes are the MIME types served inline and given a thumbnail.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// imageInfo is what checkImage learned of an image from its header.
type imageInfo struct {
	width, height int // as displayed: after the EXIF orientation
	orientation   int // EXIF orientation 1–8 (JPEG only; 1 otherwise)
}

// checkImage reads the header of the image in r (never its pixels) and refuses one
// that cannot be read or is over maxPixels.
func checkImage(r io.Reader, mime string) (imageInfo, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	orient := 1
	if mime == "image/jpeg" {
		// The EXIF segment comes before the frame header; peek at the first 64 KiB.
		head, _ := br.Peek(64 << 10)
		orient = jpegOrientation(head)
	}
	cfg, _, err := image.DecodeConfig(br)
	if err != nil {
		return imageInfo{}, fmt.Errorf("read image header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return imageInfo{}, errTooManyPixels
	}
	info := imageInfo{width: cfg.Width, height: cfg.Height, orientation: orient}
	if orient >= 5 { // rotated by a quarter turn
		info.width, info.height = cfg.Height, cfg.Width
	}
	return info, nil
}

// decodeImage decodes the image in r (the first frame of a GIF) and turns it upright.
func decodeImage(r io.Reader, orientation int) (image.Image, error) {
	img, _, err := image.Decode(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	return orient(img, orientation), nil
}

// thumbnail scales img down to at most thumbSide on its longer side (never up) and
// encodes it: JPEG for opaque images, PNG where there is transparency.
func thumbnail(img image.Image) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > thumbSide || h > thumbSide {
		if w >= h {
			w, h = thumbSide, max(1, h*thumbSide/b.Dx())
		} else {
			w, h = max(1, w*thumbSide/b.Dy()), thumbSide
		}
	}
	src, sb := img, b
	if b.Dx() > 4*w && b.Dy() > 4*h {
		// Catmull-Rom's kernel widens with the reduction, so from a photo it costs
		// half a second; a cheap pass down to four times the size first keeps its
		// smoothing for a fraction of that.
		mid := image.NewRGBA(image.Rect(0, 0, 4*w, 4*h))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), img, b, draw.Src, nil)
		src, sb = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, sb, draw.Src, nil)
	var buf bytes.Buffer
	var err error
	if dst.Opaque() {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&buf, dst)
	}
	if err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeJPEG writes img as a JPEG for serving in place of the uploaded one.
func encodeJPEG(w io.Writer, img image.Image) error {
	if err := jpeg.Encode(w, img, &jpeg.Options{Quality: 90}); err != nil {
		return fmt.Errorf("encode jpeg: %w", err)
	}
	return nil
}

// errBadJPEG is a JPEG whose segments cannot be walked.
var errBadJPEG = errors.New("malformed JPEG segments")

// stripJPEGMetadata copies the JPEG in r to w without its APP1 (EXIF, XMP), APP13
// (IPTC) and COM segments: the camera, the time and the place go, the compressed
// pixels are copied as they are (no second lossy encoding).
func stripJPEGMetadata(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return errBadJPEG
	}
	bw.Write(soi[:])
	for {
		b, err := br.ReadByte()
		if err != nil || b != 0xFF {
			return errBadJPEG
		}
		m := byte(0xFF)
		for m == 0xFF { // fill bytes
			if m, err = br.ReadByte(); err != nil {
				return errBadJPEG
			}
		}
		if m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) { // no length
			bw.Write([]byte{0xFF, m})
			if m == 0xD9 {
				return bw.Flush()
			}
			continue
		}
		var ln [2]byte
		if _, err := io.ReadFull(br, ln[:]); err != nil {
			return errBadJPEG
		}
		n := int64(binary.BigEndian.Uint16(ln[:])) - 2
		if n < 0 {
			return errBadJPEG
		}
		if m == 0xE1 || m == 0xED || m == 0xFE {
			if _, err := br.Discard(int(n)); err != nil {
				return errBadJPEG
			}
			continue
		}
		bw.Write([]byte{0xFF, m, ln[0], ln[1]})
		if _, err := io.CopyN(bw, br, n); err != nil {
			return errBadJPEG
		}
		if m == 0xDA { // the scan: everything after it is pixels (and later scans)
			if _, err := io.Copy(bw, br); err != nil {
				return fmt.Errorf("copy jpeg: %w", err)
			}
			return bw.Flush()
		}
	}
}

// orient answers img turned as EXIF orientation o says (1: as stored).
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	src, ok := img.(*image.RGBA)
	if !ok || b.Min != (image.Point{}) {
		// One pass through draw's fast paths instead of a call per pixel.
		src = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	}
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		row := src.Pix[y*src.Stride:]
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // mirrored, a quarter turn
				dx, dy = y, x
			case 6: // a quarter turn clockwise
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8: // a quarter turn anticlockwise
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dy*dst.Stride+4*dx:dy*dst.Stride+4*dx+4], row[4*x:4*x+4])
		}
	}
	return dst
}

// jpegOrientation finds the EXIF orientation in the head of a JPEG; 1 when there is
// none or it cannot be read.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // the image data: no EXIF before it
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of the first IFD of a TIFF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for k := range n {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}
