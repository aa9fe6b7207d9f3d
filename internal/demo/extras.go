package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/png"
	"time"

	"tend/internal/blob"
	"tend/internal/desk"
	"tend/internal/store"
)

// loadExtras links requests to a problem and attaches a screenshot and a
// log archive, so the demo shows problems and files too.
func (l *loader) loadExtras(files blob.Store, now time.Time) {
	if l.err != nil {
		return
	}
	ppl := l.people()
	agent, dev := ppl["agent@vendor.example"], ppl["dev@vendor.example"]
	list, err := l.st.ListRequests(l.ctx, agent, store.RequestFilter{Limit: 200})
	l.fail("list requests", err)
	bySubject := map[string]int64{}
	for _, r := range list.Items {
		bySubject[r.Subject] = r.ID
	}
	pr, _, err := l.st.CreateProblem(l.ctx, dev, desk.NewProblem{
		Title:     "Access controller firmware 2.1 loses the door state",
		Analysis:  "Turnstiles and doors on controllers with firmware 2.1 stop reacting after a door is held open; the service then crashes.",
		RootCause: "A race in the door-state cache of firmware 2.1 when two events arrive within 10 ms.",
		ProductID: l.products["secplat"],
	}, "")
	l.fail("problem", err)
	for _, subject := range []string{"Turnstiles at gate 3 do not open", "Access controller crashes after the update", "Duplicate passage events at the loading dock"} {
		if id := bySubject[subject]; id != 0 && l.err == nil {
			_, err := l.st.LinkRequest(l.ctx, dev, pr.ID, id)
			l.fail("link "+subject, err)
		}
	}
	if files == nil || l.err != nil {
		return
	}
	target := bySubject["Turnstiles at gate 3 do not open"]
	alfaOp := ppl["operator@alfa.example"]
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"gate3-reader.png", screenshot()},
		{"tend-collect-gate3.tar.gz", logArchive(now)},
	} {
		b, err := files.Put(l.ctx, bytes.NewReader(f.data), int64(len(f.data))+1)
		l.fail("store "+f.name, err)
		if err == nil {
			_, err = l.st.AddAttachment(l.ctx, alfaOp, target, 0, f.name, false, b)
			l.fail("attach "+f.name, err)
		}
	}
}

// screenshot draws a small picture of a reader's status panel.
func screenshot() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for y := range 90 {
		for x := range 160 {
			c := color.RGBA{235, 238, 242, 255}
			if y < 18 {
				c = color.RGBA{40, 60, 90, 255}
			}
			if x > 60 && x < 100 && y > 35 && y < 75 {
				c = color.RGBA{200, 40, 40, 255} // the red "locked" lamp
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// logArchive is what the diagnostics collector exports: container logs.
func logArchive(now time.Time) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	logs := map[string]string{
		"containers/access-control.log": "08:40:12 WARN door 3-1 held open\n08:40:12 ERROR door-state cache: concurrent update, state lost\n08:40:13 INFO restarting worker\n",
		"containers/gateway.log":        "08:40:13 WARN access-control unavailable, retrying\n",
	}
	for name, body := range logs {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: now})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
