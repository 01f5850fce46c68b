// Command richmenu draws the image of giftdesk's LINE rich menu, internal/line/richmenu.png:
// three buttons, 「最初から」「よくある質問」「担当者と話す」, each labelled in Japanese and
// English (one menu serves both languages), 2500×843 pixels (LINE's wide half-height
// size). It is a module of its own so that giftdesk does not depend on the font packages.
//
//	cd tools/richmenu && go run . -font /usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf
//
// The committed image was drawn with IPAGothic (IPA Font License): the font itself is not
// shipped, only the picture of the labels.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"log"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The layout must match the areas in internal/line/richmenu.go.
const (
	width, height = 2500, 843
	columns       = 3
)

type button struct {
	ja, en, icon string
	bg           color.RGBA
}

var buttons = []button{
	{"最初から", "Start over", "⇦", color.RGBA{0x2e, 0x7d, 0x5b, 0xff}},
	{"よくある質問", "FAQ", "?", color.RGBA{0x1f, 0x5f, 0x99, 0xff}},
	{"担当者と話す", "Talk to a person", "☎", color.RGBA{0xc0, 0x5a, 0x1e, 0xff}},
}

func main() {
	fontPath := flag.String("font", "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf", "a TrueType/OpenType font with Japanese glyphs")
	out := flag.String("out", "../../internal/line/richmenu.png", "where to write the PNG")
	flag.Parse()
	if err := run(*fontPath, *out); err != nil {
		log.Fatal(err)
	}
}

func run(fontPath, out string) error {
	b, err := os.ReadFile(fontPath)
	if err != nil {
		return err
	}
	f, err := opentype.Parse(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", fontPath, err)
	}
	face := func(size float64) (font.Face, error) {
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	icon, err := face(230)
	if err != nil {
		return err
	}
	ja, err := face(120)
	if err != nil {
		return err
	}
	en, err := face(78)
	if err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0xf4, 0xf1, 0xea, 0xff}}, image.Point{}, draw.Src)
	col := width / columns
	const gap = 12
	for i, btn := range buttons {
		x0 := i * col
		tile := image.Rect(x0+gap, gap, x0+col-gap, height-gap)
		if i == columns-1 {
			tile.Max.X = width - gap
		}
		draw.Draw(img, tile, &image.Uniform{btn.bg}, image.Point{}, draw.Src)
		cx := (tile.Min.X + tile.Max.X) / 2
		label(img, icon, btn.icon, cx, 330)
		label(img, ja, btn.ja, cx, 560)
		label(img, en, btn.en, cx, 700)
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(w, img); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// label draws s in white, centred on x, with its baseline at y.
func label(img draw.Image, face font.Face, s string, x, y int) {
	d := &font.Drawer{Dst: img, Src: image.White, Face: face}
	adv := d.MeasureString(s)
	d.Dot = fixed.Point26_6{X: fixed.I(x) - adv/2, Y: fixed.I(y)}
	d.DrawString(s)
}
