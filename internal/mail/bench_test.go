package mail_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"tend/internal/apptest"
	"tend/internal/blob"
	"tend/internal/mail"
	"tend/internal/store"
)

// benchMessages makes n messages of the mix a support mailbox sees: new
// requests from contacts (UTF-8, KOI8-R, with a screenshot now and then),
// replies that quote what they answer and thread by In-Reply-To or by the
// number in the subject, mail from strangers, and auto-replies.
func benchMessages(n int) [][]byte {
	contacts := []string{"admin@alfa.example", "operator@alfa.example", "integrator@alfa.example", "admin@beta.example", "operator@beta.example", "admin@gamma.example"}
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n" + string(make([]byte, 2000))))
	koi, _ := charmap.KOI8R.NewEncoder().String("Добрый день! Не открывается журнал событий после обновления до 4.2.")
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		from := contacts[i%len(contacts)]
		id := fmt.Sprintf("Message-ID: <bench-%d@client.example>", i)
		var raw []byte
		switch {
		case i%10 == 9:
			raw = msg([]string{"From: " + from, "To: support@vendor.example", "Subject: Автоматический ответ", id, "Auto-Submitted: auto-replied"}, "Я в отпуске.")
		case i%10 == 8:
			raw = msg([]string{fmt.Sprintf("From: Stranger %d <s%d@nowhere.example>", i, i), "To: support@vendor.example", "Subject: Вопрос по продукту", id}, "Подскажите, как купить лицензию?")
		case i%10 >= 5 && i >= 10:
			// A reply to a message a few before it, quoting it.
			ref := fmt.Sprintf("In-Reply-To: <bench-%d@client.example>", i-6) // the same contact
			raw = msg([]string{"From: " + from, "To: support@vendor.example", "Subject: Re: журнал событий", id, ref},
				"Версия 4.2.1, перезагрузка не помогла.\n\nС уважением,\nИван\n\nВ пн, 2 мар. 2026 г. в 10:05, Support <support@vendor.example>:\n> Какая версия установлена?\n> Пробовали перезагрузить?\n")
		case i%20 == 1:
			raw = msg([]string{"From: " + from, "To: support@vendor.example", "Subject: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("Снимок экрана")) + "?=", id,
				"MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=b"},
				"--b\nContent-Type: text/plain; charset=utf-8\n\nСм. снимок.\n--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"screen.png\"\nContent-Transfer-Encoding: base64\n\n"+png+"\n--b--\n")
		case i%2 == 0:
			raw = msg([]string{"From: " + from, "To: support@vendor.example", "Subject: =?koi8-r?B?" + base64.StdEncoding.EncodeToString([]byte(koi[:20])) + "?=", id,
				"MIME-Version: 1.0", "Content-Type: text/plain; charset=koi8-r", "Content-Transfer-Encoding: 8bit"}, koi)
		default:
			raw = msg([]string{"From: " + from, "To: support@vendor.example", fmt.Sprintf("Subject: Ошибка %d при выгрузке отчёта", i), id,
				"MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8; format=flowed"}, "Здравствуйте!\nПри выгрузке отчёта за март появляется ошибка \nи файл не сохраняется.\n")
		}
		out = append(out, raw)
	}
	return out
}

// BenchmarkInbound parses, threads and stores messages end to end, in the
// poller's batches: the originals kept in the file store and made durable
// with one flush a batch, then one transaction per message, notices queued.
// Issue 6 asks for 10 000 at 300 per second or more on SQLite:
//
//	go test -run xxx -bench Inbound -benchtime 10000x ./internal/mail/
//	TEND_TEST_PG=postgres://… TEND_TEST_ENGINES=postgres go test -run xxx -bench Inbound -benchtime 10000x ./internal/mail/
func BenchmarkInbound(b *testing.B) {
	for _, engine := range apptest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			app := apptest.NewApp(b, engine, apptest.Options{Demo: true})
			files, err := blob.NewDisk(app.Files)
			if err != nil {
				b.Fatal(err)
			}
			rc, err := mail.NewReceiver(context.Background(), app.Store, files, slog.New(slog.DiscardHandler),
				mail.Config{Address: "support@vendor.example", Limits: store.MailLimits{}})
			if err != nil {
				b.Fatal(err)
			}
			msgs := benchMessages(b.N)
			ctx := context.Background()
			outcomes := map[string]int{}
			b.ResetTimer()
			for i := 0; i < b.N; i += mail.BatchSize {
				batch := make([]mail.Incoming, 0, mail.BatchSize)
				for _, raw := range msgs[i:min(i+mail.BatchSize, b.N)] {
					batch = append(batch, mail.Incoming{Raw: raw, Env: mail.Envelope{Source: "imap"}})
				}
				res, err := rc.DeliverBatch(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					outcomes[r.Outcome]++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if b.N >= 1000 {
				b.Logf("%s: %d messages: %v", engine, b.N, outcomes)
			}
		})
	}
}
