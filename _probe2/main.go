package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"tend/internal/sla"
	"tend/internal/store"
)

func main() {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: os.Args[1], DataDir: os.Args[1], Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	y, _ := sla.Default().Data(2026)
	y.Days[sla.MonthDay{Month: time.December, Day: 5}] = sla.Working
	changed, _ := sla.Default().With(y)
	for i := 0; i < 4; i++ {
		cal := changed
		if i%2 == 1 {
			cal = sla.Default()
		}
		st.UseCalendar(func() *sla.Calendar { return cal })
		t0 := time.Now()
		n, err := st.RecomputeClocks(ctx, 0)
		fmt.Println(n, err, time.Since(t0))
	}
}
