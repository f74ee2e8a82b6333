package h5

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// TestReadH5pyFixture reads testdata/h5py_recording.h5, written by
// scripts/h5py_fixture.py with h5py 3.7 / HDF5 1.10.8: gzip + shuffle datasets,
// variable-length UTF-8 and fixed-length ASCII strings, an int32 version, integer and
// float32 parameters, an array attribute and extra objects to ignore. The expected values
// repeat the script's formulas.
func TestReadH5pyFixture(t *testing.T) {
	const path = "testdata/h5py_recording.h5"
	rec, problems := Validate(path)
	checkProblems(t, path, problems, nil)
	if rec == nil {
		t.Fatal("no recording")
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := f.Recording()
	if got.Session != (data.SessionID{Mouse: "7", Session: "4"}) || got.RateHz != 30 {
		t.Errorf("session %v at %v Hz, want 7-4 at 30 Hz", got.Session, got.RateHz)
	}
	if !slices.Equal(got.Units.ID, []int64{10, 11, 12, 13}) || !slices.Equal(got.Units.Area, []string{"V1", "LM", "AL", "RL"}) {
		t.Errorf("units %v %v", got.Units.ID, got.Units.Area)
	}
	for i, p := range got.Units.PositionUM {
		if p != 10*float32(i) {
			t.Fatalf("position_um[%d] = %v, want %v", i, p, 10*float32(i))
		}
	}
	wantTrials := []data.TrialInfo{
		{ID: "0", Video: "videos/0.mp4", Stimulus: "clip-α0", Domain: data.DomainNatural, Tier: data.TierTrain, Frames: 6,
			Params: map[string]float64{"orientation": 45, "speed": 2, "contrast": 0.5},
			Labels: map[string]string{"original_tier": "oracle"}},
		{ID: "2", Video: "videos/2.mp4", Stimulus: "clip-α1", Domain: data.DomainNatural, Tier: data.TierValidation, Frames: 3},
		{ID: "10", Video: "videos/10.mp4", Stimulus: "clip-α2", Domain: data.DomainNatural, Tier: data.TierTest, Frames: 2},
	}
	if len(got.Trials) != len(wantTrials) {
		t.Fatalf("%d trials, want %d", len(got.Trials), len(wantTrials))
	}
	for i, w := range wantTrials {
		if !sameInfo(got.Trials[i], w) {
			t.Errorf("trial %d: %+v, want %+v", i, got.Trials[i], w)
		}
		tr, err := f.ReadTrial(w.ID)
		if err != nil {
			t.Fatal(err)
		}
		T, U := w.Frames, 4
		want := &data.Trial{TrialInfo: w, Responses: make([]float32, T*U), Pupil: make([]float32, T),
			Running: make([]float32, T), Eye: make([]float32, 2*T)}
		for ti := range T {
			for u := range U {
				want.Responses[ti*U+u] = float32(100*i+ti) + float32(u)/4
			}
			want.Pupil[ti] = 1 + float32(ti)/8
			want.Running[ti] = float32(ti) / 4
			want.Eye[2*ti], want.Eye[2*ti+1] = float32(ti), float32(-ti) // integer negation: +0 at ti = 0, as numpy
		}
		if w.ID == "0" {
			want.Responses[2*U+1] = float32(math.NaN())
			want.Pupil[5] = float32(math.NaN())
		}
		checkTrial(t, tr, want)
	}
	if v, dims, err := f.ReadUnitsExtra("preferred_orientation"); err != nil || !slices.Equal(v, []float32{0, 45, 90, 135}) || !slices.Equal(dims, []int{4}) {
		t.Errorf("preferred_orientation %v %v %v", v, dims, err)
	}
	if v, err := f.ReadUnitsExtraStrings("class"); err != nil || !slices.Equal(v, []string{"on", "off", "on", "off"}) {
		t.Errorf("class %v %v", v, err)
	}
	if v, dims, err := f.ReadUnitsExtraInts("rf_center"); err != nil || !slices.Equal(v, []int64{0, 1, 2, 3, 4, 5, 6, 7}) || !slices.Equal(dims, []int{4, 2}) {
		t.Errorf("rf_center (int16 in the file) %v %v %v", v, dims, err)
	}
	rate, dims, err := f.ReadTrialExtra("0", "rate")
	if err != nil || !slices.Equal(dims, []int{6, 4}) || rate[2*4+1] != 2.25 {
		t.Errorf("rate %v %v %v, want [6,4] with rate[2,1] = 2.25", rate, dims, err)
	}
	in := Inspect(path)
	if c := in.Trials[0].Responses; c.NaN != 1 || c.Total != 24 {
		t.Errorf("trial 0 responses counts %+v, want 1 NaN of 24", c)
	}
}

// TestH5pyLZF reads testdata/h5py_lzf.h5, whose trial 0 running speed is LZF-compressed
// (an h5py-only filter): the structure opens, but the values cannot be decoded, and the
// validator says why. (On a machine with an LZF plug-in in HDF5's plug-in folder the
// reads would succeed and this test fail; Debian's libhdf5 ships none.)
func TestH5pyLZF(t *testing.T) {
	const path = "testdata/h5py_lzf.h5"
	_, problems := Validate(path)
	checkProblems(t, path, problems, []want{{"/trials/0/running", "cannot decode, such as h5py's LZF: fmcore reads gzip only"}})
	f, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v, want success (the structure is valid)", err)
	}
	defer f.Close()
	if _, err := f.ReadTrial("0"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "LZF") {
		t.Errorf("ReadTrial: %v, want ErrCorrupt naming LZF", err)
	}
}
