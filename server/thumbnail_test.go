package server

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"testing"
)

func testImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for y := range 2 {
		for x := range 3 {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(10 * y), 0, 255})
		}
	}
	return img
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := range a.Bounds().Dy() {
		for x := range a.Bounds().Dx() {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// TestOrient: each EXIF orientation undone by its inverse; 6 turns clockwise.
func TestOrient(t *testing.T) {
	img := testImage()
	inverse := map[int]int{2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
	for o, inv := range inverse {
		if got := orient(orient(img, o), inv); !sameImage(got, img) {
			t.Errorf("orientation %d then %d is not the original", o, inv)
		}
	}
	r := orient(img, 6)
	if r.Bounds().Dx() != 2 || r.Bounds().Dy() != 3 || r.At(1, 0) != img.At(0, 0) || r.At(0, 0) != img.At(0, 1) {
		t.Errorf("orientation 6: %v; the stored top-left should be the top-right", r.Bounds())
	}
	if orient(img, 1) != image.Image(img) {
		t.Error("orientation 1 changed the image")
	}
}

// TestJPEGOrientation reads the tag in both byte orders and survives junk.
func TestJPEGOrientation(t *testing.T) {
	seg := func(bo binary.AppendByteOrder, mark string, o uint16) []byte {
		tiff := []byte(mark)
		tiff = bo.AppendUint16(tiff, 42)
		tiff = bo.AppendUint32(tiff, 8)
		tiff = bo.AppendUint16(tiff, 1)
		tiff = bo.AppendUint16(tiff, 0x0112)
		tiff = bo.AppendUint16(tiff, 3)
		tiff = bo.AppendUint32(tiff, 1)
		tiff = bo.AppendUint16(tiff, o)
		tiff = append(tiff, 0, 0, 0, 0, 0, 0)
		body := append([]byte("Exif\x00\x00"), tiff...)
		out := []byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 0}
		binary.BigEndian.PutUint16(out[4:], uint16(len(body)+2))
		return append(append(out, body...), 0xFF, 0xDA)
	}
	if o := jpegOrientation(seg(binary.LittleEndian, "II", 8)); o != 8 {
		t.Errorf("little-endian: %d", o)
	}
	if o := jpegOrientation(seg(binary.BigEndian, "MM", 3)); o != 3 {
		t.Errorf("big-endian: %d", o)
	}
	if o := jpegOrientation(seg(binary.BigEndian, "MM", 99)); o != 1 {
		t.Errorf("out of range: %d", o)
	}
	b := seg(binary.BigEndian, "MM", 6)
	for n := range len(b) {
		_ = jpegOrientation(b[:n]) // never panics on a cut header
	}
}

// FuzzJPEGMetadata: the EXIF reader and the segment stripper never panic on any
// bytes, and what the stripper answers carries no EXIF orientation any more.
func FuzzJPEGMetadata(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte("\xFF\xD8\xFF\xE1\x00\x1cExif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\xFF\xDA\x00\x02\x01\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = jpegOrientation(b)
		var out bytes.Buffer
		if stripJPEGMetadata(&out, bytes.NewReader(b)) == nil {
			if o := jpegOrientation(out.Bytes()); o != 1 {
				t.Fatalf("stripped JPEG still has orientation %d", o)
			}
		}
	})
}
