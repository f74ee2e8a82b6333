package data

import (
	"errors"
	"fmt"
)

// FormatName is the value of the root attribute `format` of every recording file.
const FormatName = "fmcore-recording"

// FormatVersion is the newest recording format version this build reads and writes.
const FormatVersion = 1

// Tier is the split a trial belongs to.
type Tier string

// The tiers of format v1.
const (
	TierTrain      Tier = "train"
	TierValidation Tier = "validation"
	TierTest       Tier = "test"
)

// Tiers lists every valid tier in a fixed order (for reports).
var Tiers = []Tier{TierTrain, TierValidation, TierTest}

// Valid reports whether t is one of the tiers of format v1.
func (t Tier) Valid() bool {
	return t == TierTrain || t == TierValidation || t == TierTest
}

// Domain is the stimulus domain of a trial.
type Domain string

// The stimulus domains fmcore knows. Other values are allowed in files (a domain is a
// label, not a choice that changes behaviour), but these are the ones the simulator
// writes and the reports order by.
const (
	DomainNatural Domain = "natural"
	DomainGabor   Domain = "gabor"
	DomainDots    Domain = "dots"
	DomainRDK     Domain = "rdk"
	DomainNoise   Domain = "noise"
	DomainImage   Domain = "image"
)

// Domains lists the known domains in report order.
var Domains = []Domain{DomainNatural, DomainGabor, DomainDots, DomainRDK, DomainNoise, DomainImage}

// SessionID names one recording session (a "scan") of one mouse.
type SessionID struct {
	Mouse   string
	Session string
}

// String returns "mouse-session", the key that selects a session's readout.
func (s SessionID) String() string { return s.Mouse + "-" + s.Session }

// Units describes the U units (neurons) of a session, in response-column order.
type Units struct {
	ID         []int64   // [U] unique unit ids
	Area       []string  // [U] brain area, e.g. "V1", "LM", "AL", "RL"
	PositionUM []float32 // [U,3] cortical position in µm, row-major; nil when unknown
}

// Len returns U.
func (u Units) Len() int { return len(u.ID) }

// TrialInfo is everything about a trial except its per-frame arrays.
type TrialInfo struct {
	ID       string // group name under /trials
	Video    string // path of the stimulus video, relative to the recording's folder
	Stimulus string // id shared by all repeats of the same stimulus
	Domain   Domain
	Tier     Tier
	Frames   int // T, the number of frames at the recording's rate
	// Params holds numeric stimulus parameters (orientation, speed, …) stored as
	// float64 attributes of the trial group; nil when there are none.
	Params map[string]float64
	// Labels holds extra string attributes of the trial group (e.g. an importer's
	// original tier name); nil when there are none.
	Labels map[string]string
}

// Trial is one trial with its per-frame arrays. NaN marks a missing value.
type Trial struct {
	TrialInfo
	Responses []float32 // [T,U] row-major
	Pupil     []float32 // [T] pupil radius
	Running   []float32 // [T] treadmill speed
	Eye       []float32 // [T,2] pupil centre x, y, row-major
}

// Recording is the header of one recording session file: everything but the trials'
// per-frame arrays.
type Recording struct {
	Session SessionID
	RateHz  float64 // the common clock of every per-frame array
	Units   Units
	Trials  []TrialInfo
}

// Check reports the first structural problem of a trial against a session with u units,
// or nil. It checks shapes only; values (NaN) are the validator's business.
func (t *Trial) Check(u int) error {
	T := t.Frames
	switch {
	case T <= 0:
		return fmt.Errorf("trial %s: %d frames, want at least 1", t.ID, T)
	case len(t.Responses) != T*u:
		return fmt.Errorf("trial %s: responses has %d values, want T×U = %d×%d", t.ID, len(t.Responses), T, u)
	case len(t.Pupil) != T:
		return fmt.Errorf("trial %s: pupil has %d frames, want %d", t.ID, len(t.Pupil), T)
	case len(t.Running) != T:
		return fmt.Errorf("trial %s: running has %d frames, want %d", t.ID, len(t.Running), T)
	case len(t.Eye) != 2*T:
		return fmt.Errorf("trial %s: eye has %d values, want T×2 = %d×2", t.ID, len(t.Eye), T)
	case !t.Tier.Valid():
		return fmt.Errorf("trial %s: tier %q, want train, validation or test", t.ID, t.Tier)
	}
	return nil
}

// Check reports the first structural problem of the units table, or nil.
func (u Units) Check() error {
	n := len(u.ID)
	if n == 0 {
		return errors.New("units: no units")
	}
	if len(u.Area) != n {
		return fmt.Errorf("units: %d areas for %d ids", len(u.Area), n)
	}
	if u.PositionUM != nil && len(u.PositionUM) != 3*n {
		return fmt.Errorf("units: position_um has %d values, want U×3 = %d×3", len(u.PositionUM), n)
	}
	seen := make(map[int64]int, n)
	for i, id := range u.ID {
		if j, ok := seen[id]; ok {
			return fmt.Errorf("units: duplicate unit id %d at rows %d and %d", id, j, i)
		}
		seen[id] = i
	}
	return nil
}

// Problem is one finding of a validator: which file, which object in it, and what is wrong.
type Problem struct {
	File    string // path of the file
	Object  string // HDF5 object path or video path; empty for the file as a whole
	Message string // what is wrong and, where possible, what to do
}

// String formats the problem as one line: "file: object: message".
func (p Problem) String() string {
	if p.Object == "" {
		return p.File + ": " + p.Message
	}
	return p.File + ": " + p.Object + ": " + p.Message
}
