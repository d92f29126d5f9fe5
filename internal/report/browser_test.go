package report

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/browser"
)

func TestBrowserRendersReport(t *testing.T) {
	bin := browser.Find(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f := fixture{rounds: 10, target: true, summary: true}.build(t)
	if err := os.WriteFile(page, []byte(render(t, f)), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom := string(browser.Run(t, bin, "--dump-dom", url))
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("chromium dumped no page:\n%.500s", dom)
	}
	charts := parseCharts(t, dom)
	for name := range legends {
		info := charts[name]
		if info == nil || info.plotted == 0 {
			t.Errorf("rendered DOM: chart %q missing or plots nothing", name)
			continue
		}
		checkInside(t, name, info)
	}

	shot := filepath.Join(dir, "report.png")
	browser.Run(t, bin, "--screenshot="+shot, "--window-size=1280,3000", url)
	checkScreenshot(t, shot)
}

// checkScreenshot fails the test when the screenshot looks blank: too few
// pixels that are not white, or too few colours for charts.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 2000 {
		t.Fatalf("screenshot is %v, want the 1280x3000 window", b.Size())
	}
	nonWhite, colours := pixelStats(img)
	total := b.Dx() * b.Dy()
	t.Logf("screenshot %v: %.1f%% non-white pixels, %d distinct colours", b.Size(), 100*float64(nonWhite)/float64(total), colours)
	if share := float64(nonWhite) / float64(total); share < 0.05 {
		t.Errorf("screenshot is %.1f%% non-white, want at least 5%%", share*100)
	}
	if colours < 8 {
		t.Errorf("screenshot has %d distinct saturated colours, want at least 8 (the charts' series)", colours)
	}
}

// pixelStats counts the pixels that are not near-white and the distinct
// saturated colours, quantised to 4 bits a channel so that anti-aliasing
// does not count.
func pixelStats(img image.Image) (nonWhite, colours int) {
	b := img.Bounds()
	seen := map[[3]uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 245 || g < 245 || bl < 245 {
				nonWhite++
			}
			if max(r, g, bl)-min(r, g, bl) > 60 {
				seen[[3]uint32{r >> 4, g >> 4, bl >> 4}]++
			}
		}
	}
	for _, n := range seen {
		// A colour drawn on a few pixels only is anti-aliasing.
		if n >= 50 {
			colours++
		}
	}
	return nonWhite, colours
}
