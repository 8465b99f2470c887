package storage

import (
	"testing"

	"github.com/parleychat/parley/model"
)

// TestAttachmentPreview: a file-only message's line in the rooms list says what it is.
func TestAttachmentPreview(t *testing.T) {
	for _, c := range []struct {
		a    model.Attachment
		want string
	}{
		{model.Attachment{URL: "/api/uploads/u1", ThumbURL: "/api/uploads/u1/thumb", Name: "IMG_1.jpg", MIME: "image/jpeg"}, "📷 Photo"},
		{model.Attachment{URL: "/api/uploads/u2", Name: "report.pdf", MIME: "application/pdf"}, "📎 report.pdf"},
		{model.Attachment{URL: "/api/uploads/u3", Name: "logo.svg", MIME: "image/svg+xml"}, "📎 logo.svg"}, // no thumbnail: not shown inline
		{model.Attachment{Name: "cat.png"}, "📎 cat.png"},                                                  // still uploading
	} {
		if got := attachmentPreview(&c.a); got != c.want {
			t.Errorf("attachmentPreview(%s) = %q; want %q", c.a.Name, got, c.want)
		}
	}
}
