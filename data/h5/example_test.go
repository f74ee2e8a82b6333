package h5_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
)

// Example writes a one-trial recording, validates it and reads a window of frames.
func Example() {
	dir, err := os.MkdirTemp("", "h5example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "7-4.h5")

	rec := data.Recording{
		Session: data.SessionID{Mouse: "7", Session: "4"},
		RateHz:  30,
		Units:   data.Units{ID: []int64{1, 2}, Area: []string{"V1", "LM"}},
	}
	const T, U = 3, 2
	trial := &data.Trial{
		TrialInfo: data.TrialInfo{ID: "0", Video: "videos/0.mp4", Stimulus: "clip0",
			Domain: data.DomainNatural, Tier: data.TierTrain, Frames: T,
			Params: map[string]float64{"orientation": 90}},
		Responses: []float32{0.1, 0.2, 1.1, 1.2, 2.1, 2.2}, // [T,U]
		Pupil:     []float32{3, 3.5, 4},                    // [T]
		Running:   []float32{0, 0, 1},                      // [T]
		Eye:       []float32{0, 0, 1, 1, 2, 2},             // [T,2]
	}

	w, err := h5.Create(path, rec)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // no-op after a successful Close
	if err := w.WriteTrial(trial); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	_, problems := h5.Validate(path)
	fmt.Println("problems:", len(problems))

	f, err := h5.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	info := f.Recording().Trials[0]
	fmt.Println(info.ID, info.Tier, info.Frames, "frames, orientation", info.Params["orientation"])
	win, err := f.ReadTrialRange("0", 1, 2) // frames [1,3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(win.Responses, win.Pupil)
	// Output:
	// problems: 0
	// 0 train 3 frames, orientation 90
	// [1.1 1.2 2.1 2.2] [3.5 4]
}
