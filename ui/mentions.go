package ui

import (
	"image/color"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// maxMentionChoices is how many members the @name completion offers at once.
const maxMentionChoices = 6

// mentions completes @name in the composer from the room's members.
type mentions struct {
	c       *chatScreen
	members []Member // loaded once, at the first @
	loading bool
	popup   *widget.PopUp
	choices []*widget.Button // what the popup offers now (tests pick from it)
}

// typed follows an edit of the composer: when the text ends in @ and a part of a
// name, it offers the members whose names start so.
func (m *mentions) typed() {
	prefix, ok := mentionPrefix(m.c.composer.value())
	if !ok {
		m.hide()
		return
	}
	re, has := m.c.eng.(RoomSettingsEngine)
	if !has {
		return
	}
	if m.members == nil {
		if m.loading {
			return
		}
		m.loading = true
		room := m.c.room.ID
		m.c.run.bg(func() {
			d, err := re.RoomDetails(room)
			m.c.run.ui(func() {
				m.loading = false
				if err == nil {
					m.members = d.Members
					m.typed()
				}
			})
		})
		return
	}
	m.offer(prefix)
}

// offer shows the members whose name starts with prefix.
func (m *mentions) offer(prefix string) {
	me := m.c.eng.UserID()
	m.choices = m.choices[:0]
	box := container.NewVBox()
	for _, mb := range m.members {
		if mb.ID == me || !strings.HasPrefix(strings.ToLower(mb.Name), strings.ToLower(prefix)) {
			continue
		}
		b := &widget.Button{Text: "@" + mb.Name, Importance: widget.LowImportance}
		b.OnTapped = func() { m.complete(mb.Name) }
		m.choices = append(m.choices, b)
		box.Add(b)
		if len(m.choices) == maxMentionChoices {
			break
		}
	}
	if len(m.choices) == 0 {
		m.hide()
		return
	}
	cnv := fyne.CurrentApp().Driver().CanvasForObject(m.c.composer)
	if cnv == nil {
		return
	}
	m.hide()
	m.popup = widget.NewPopUp(box, cnv)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(m.c.composer)
	m.popup.ShowAtPosition(pos.SubtractXY(0, box.MinSize().Height+8))
}

// complete replaces the @prefix at the end of the text with @name and a space.
func (m *mentions) complete(name string) {
	text := m.c.composer.value()
	i := strings.LastIndex(text, "@")
	if i < 0 {
		return
	}
	m.c.composer.setText(text[:i] + "@" + name + " ")
	m.c.composer.CursorRow, m.c.composer.CursorColumn = rowCol(m.c.composer.Text, len([]rune(m.c.composer.Text)))
	m.hide()
	if cnv := fyne.CurrentApp().Driver().CanvasForObject(m.c.composer); cnv != nil {
		cnv.Focus(m.c.composer)
	}
}

func (m *mentions) hide() {
	if m.popup != nil {
		m.popup.Hide()
		m.popup = nil
	}
}

// mentionBubble is the fill of another's bubble that mentions the user: the background
// tinted with the theme's warning colour, as the own bubble is with the accent.
func mentionBubble() color.Color {
	bg := theme.Color(theme.ColorNameBackground)
	share := float32(0.18)
	if luminance(bg) < 0.5 {
		share = 0.3
	}
	return mix(bg, theme.Color(theme.ColorNameWarning), share)
}

// mentionPrefix returns the part of a name after a trailing @ ("@an" → "an"): the @
// starts the text or follows a space, and nothing after it is a space.
func mentionPrefix(text string) (string, bool) {
	i := strings.LastIndex(text, "@")
	if i < 0 || (i > 0 && !unicode.IsSpace(rune(text[i-1]))) {
		return "", false
	}
	rest := text[i+1:]
	if strings.IndexFunc(rest, unicode.IsSpace) >= 0 || len([]rune(rest)) > 32 {
		return "", false
	}
	return rest, true
}

// mentionsOf reports whether text mentions one of names as @name (any case), the name
// not running on into a letter or digit.
func mentionsOf(text string, names ...string) bool {
	lower := strings.ToLower(text)
	for _, n := range names {
		if n == "" {
			continue
		}
		at := "@" + strings.ToLower(n)
		for i := 0; i < len(lower); {
			j := strings.Index(lower[i:], at)
			if j < 0 {
				break
			}
			end := i + j + len(at)
			if end == len(lower) || !isNameRune(rune(lower[end])) {
				return true
			}
			i = end
		}
	}
	return false
}

func isNameRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
