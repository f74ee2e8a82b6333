package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"strconv"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/internal/sim/mouse"
	"github.com/fmcore/fmcore/internal/sim/stimulus"
)

// Sink receives what the simulator produces. The CLI implements it with data/h5 and
// data/video; names are paths relative to the dataset folder.
type Sink interface {
	// CreateVideo starts a video file (lossless luminance) of W×H frames at rateHz.
	CreateVideo(name string, width, height int, rateHz float64) (VideoWriter, error)
	// DecodeVideo returns the frames [T,H,W] of a finished video exactly as the model
	// will see them, so the simulated neurons and the model see identical pixels.
	DecodeVideo(ctx context.Context, name string, width, height int, rateHz float64) ([]byte, int, error)
	// CreateRecording starts a recording file for one session.
	CreateRecording(name string, rec data.Recording) (RecordingWriter, error)
}

// VideoWriter writes one video; nothing appears under its name before Close succeeds.
type VideoWriter interface {
	WriteFrame(frame []byte) error
	Close() error
	Abort()
}

// RecordingWriter writes one recording; nothing appears under its name before Close
// succeeds.
type RecordingWriter interface {
	WriteTrial(t *data.Trial) error
	WriteTrialExtra(trialID, name string, values []float32, dims ...int) error
	WriteUnitsExtra(name string, values []float32, dims ...int) error
	WriteUnitsExtraInts(name string, values []int64, dims ...int) error
	WriteUnitsExtraStrings(name string, values []string) error
	Close() error
	Abort()
}

// Manifest describes a simulated dataset; the CLI stores it as dataset.json.
type Manifest struct {
	Format  string          `json:"format"` // "fmcore-simulation"
	Version int             `json:"version"`
	Config  Config          `json:"config"`
	Mice    []ManifestMouse `json:"mice"`
	Stimuli []ManifestClip  `json:"stimuli"`
}

// ManifestMouse names one mouse's recording.
type ManifestMouse struct {
	ID     string `json:"id"`
	New    bool   `json:"new"` // meant for fine-tuning, not foundation training
	File   string `json:"file"`
	Units  int    `json:"units"`
	Trials int    `json:"trials"`
	// PupilRestMM and PupilScaleMM set the mouse's pupil gain (docs/FORMAT.md).
	PupilRestMM  float64 `json:"pupil_rest_mm"`
	PupilScaleMM float64 `json:"pupil_scale_mm"`
}

// ManifestClip describes one stimulus video and its epochs.
type ManifestClip struct {
	Name     string             `json:"name"` // the trials' stimulus id
	Kind     stimulus.Kind      `json:"kind"`
	Seed     uint64             `json:"seed"`
	Video    string             `json:"video"`
	Frames   int                `json:"frames"`
	Params   map[string]float64 `json:"params"`
	Segments []stimulus.Segment `json:"segments"`
}

// Summary is what Run produced.
type Summary struct {
	Manifest Manifest
	Trials   int // trials written over all mice
	Videos   int
}

// viewing is one mouse's exposure to a clip.
type viewing struct {
	mouse   int       // index into the mice
	tier    data.Tier // train, validation or test
	repeats int
}

// clipPlan is one stimulus video and who sees it.
type clipPlan struct {
	name    string
	kind    stimulus.Kind
	seed    uint64
	viewers []viewing
}

// Run simulates the dataset described by cfg into sink, calling progress (if non-nil)
// after every trial with the number written and the total. It stops at the first error
// or when ctx is cancelled; the sink's writers are then aborted, so nothing half-written
// is left under a final name.
func Run(ctx context.Context, cfg Config, sink Sink, progress func(done, total int)) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	spec := stimulus.DefaultSpec()
	spec.Width, spec.Height, spec.RateHz, spec.Seconds = cfg.Width, cfg.Height, cfg.RateHz, cfg.ClipSeconds
	if err := spec.Validate(); err != nil {
		return Summary{}, fmt.Errorf("simulate: %w", err)
	}
	bank, err := mouse.NewBank(mouse.BankSpec{Width: cfg.Width, Height: cfg.Height, RateHz: cfg.RateHz, DegPerPixel: spec.DegPerPixel()})
	if err != nil {
		return Summary{}, fmt.Errorf("simulate: %w", err)
	}
	nMice := cfg.Mice + cfg.NewMice
	mice := make([]*mouse.Mouse, nMice)
	for i := range mice {
		mice[i], err = mouse.NewMouse(bank, mouse.MouseSpec{
			ID: strconv.Itoa(i + 1), Units: cfg.Units, Seed: seedFor(cfg.Seed, "mouse", i), Reliability: cfg.Reliability,
		})
		if err != nil {
			return Summary{}, fmt.Errorf("simulate: %w", err)
		}
	}
	plan := planClips(cfg)
	total := 0
	for _, c := range plan {
		for _, v := range c.viewers {
			total += v.repeats
		}
	}

	r := &runner{ctx: ctx, cfg: cfg, spec: spec, bank: bank, mice: mice, sink: sink, progress: progress, total: total,
		trialCount: make([]int, nMice)}
	defer r.abort()
	if err := r.openRecordings(); err != nil {
		return Summary{}, err
	}
	sum := Summary{Manifest: Manifest{Format: "fmcore-simulation", Version: 1, Config: cfg}}
	for _, c := range plan {
		mc, err := r.clip(c)
		if err != nil {
			return Summary{}, err
		}
		sum.Manifest.Stimuli = append(sum.Manifest.Stimuli, mc)
	}
	for i, w := range r.writers {
		if err := w.Close(); err != nil {
			return Summary{}, fmt.Errorf("simulate: finish %s: %w", recordingName(i), err)
		}
		r.writers[i] = nil
		sum.Manifest.Mice = append(sum.Manifest.Mice, ManifestMouse{
			ID: strconv.Itoa(i + 1), New: i >= cfg.Mice, File: recordingName(i), Units: cfg.Units, Trials: r.trialCount[i],
			PupilRestMM: r.mice[i].Truth().PupilRest, PupilScaleMM: r.mice[i].Truth().PupilScale})
	}
	sum.Trials, sum.Videos = r.done, len(plan)
	return sum, nil
}

// planClips lists every clip and its viewers. Foundation mice share one pool of natural
// training clips and new mice another, so a new mouse's training movies are novel to
// the core; the natural test clips and the out-of-domain clips are shown to every mouse,
// each Repeats times. Each mouse holds out its own random validation clips.
func planClips(cfg Config) []clipPlan {
	var plan []clipPlan
	nMice := cfg.Mice + cfg.NewMice
	pool := func(tag string, first, last int) {
		n := cfg.trainClips()
		tiers := make([][]data.Tier, last-first)
		for m := first; m < last; m++ {
			rng := rand.New(rand.NewPCG(seedFor(cfg.Seed, "validation", m), 0))
			t := make([]data.Tier, n)
			for i := range t {
				t[i] = data.TierTrain
			}
			for _, i := range rng.Perm(n)[:cfg.validationClips()] {
				t[i] = data.TierValidation
			}
			tiers[m-first] = t
		}
		for i := range n {
			c := clipPlan{name: fmt.Sprintf("natural-%s-%04d", tag, i+1), kind: stimulus.KindNatural, seed: seedFor(cfg.Seed, "natural-"+tag, i)}
			for m := first; m < last; m++ {
				c.viewers = append(c.viewers, viewing{mouse: m, tier: tiers[m-first][i], repeats: 1})
			}
			plan = append(plan, c)
		}
	}
	pool("f", 0, cfg.Mice)
	if cfg.NewMice > 0 {
		pool("n", cfg.Mice, nMice)
	}
	shown := func(name string, kind stimulus.Kind, seed uint64) {
		c := clipPlan{name: name, kind: kind, seed: seed}
		for m := range nMice {
			c.viewers = append(c.viewers, viewing{mouse: m, tier: data.TierTest, repeats: cfg.Repeats})
		}
		plan = append(plan, c)
	}
	for i := range cfg.TestClips {
		shown(fmt.Sprintf("natural-test-%02d", i+1), stimulus.KindNatural, seedFor(cfg.Seed, "natural-test", i))
	}
	for _, k := range cfg.Domains {
		for i := range cfg.OODClips {
			shown(fmt.Sprintf("%s-test-%02d", k, i+1), k, seedFor(cfg.Seed, "test-"+string(k), i))
		}
	}
	return plan
}

// runner holds the state of one Run.
type runner struct {
	ctx        context.Context
	cfg        Config
	spec       stimulus.Spec
	bank       *mouse.Bank
	mice       []*mouse.Mouse
	sink       Sink
	writers    []RecordingWriter
	trialCount []int
	progress   func(done, total int)
	done       int
	total      int
	feat       *mouse.Features
}

// recordingName is the file name of mouse i's recording.
func recordingName(i int) string { return fmt.Sprintf("mouse%02d.h5", i+1) }

// videoName is the file name of a clip's video.
func videoName(clip string) string { return "videos/" + clip + ".mp4" }

// openRecordings creates every mouse's recording and writes its ground truth.
func (r *runner) openRecordings() error {
	r.writers = make([]RecordingWriter, len(r.mice))
	for i, m := range r.mice {
		rec := data.Recording{Session: data.SessionID{Mouse: strconv.Itoa(i + 1), Session: "1"}, RateHz: r.cfg.RateHz, Units: m.Units()}
		w, err := r.sink.CreateRecording(recordingName(i), rec)
		if err != nil {
			return fmt.Errorf("simulate: create %s: %w", recordingName(i), err)
		}
		r.writers[i] = w
		if err := writeTruth(w, m.Truth()); err != nil {
			return fmt.Errorf("simulate: %s: write ground truth: %w", recordingName(i), err)
		}
	}
	return nil
}

// abort discards every unfinished recording.
func (r *runner) abort() {
	for _, w := range r.writers {
		if w != nil {
			w.Abort()
		}
	}
}

// clip renders one clip, writes its video, and simulates and writes every trial that
// shows it.
func (r *runner) clip(c clipPlan) (ManifestClip, error) {
	if err := r.ctx.Err(); err != nil {
		return ManifestClip{}, err
	}
	clip, err := stimulus.Generate(c.kind, r.spec, c.seed)
	if err != nil {
		return ManifestClip{}, fmt.Errorf("simulate: render %s: %w", c.name, err)
	}
	name := videoName(c.name)
	if err := r.writeVideo(name, clip); err != nil {
		return ManifestClip{}, err
	}
	frames, n, err := r.sink.DecodeVideo(r.ctx, name, clip.W, clip.H, r.cfg.RateHz)
	if err != nil {
		return ManifestClip{}, fmt.Errorf("simulate: read back %s: %w", name, err)
	}
	if n != clip.T {
		return ManifestClip{}, fmt.Errorf("simulate: %s decodes to %d frames, rendered %d", name, n, clip.T)
	}
	if r.feat, err = r.bank.Features(frames, n, r.feat); err != nil {
		return ManifestClip{}, fmt.Errorf("simulate: %s: %w", c.name, err)
	}
	lum, err := mouse.MeanLuminance(frames, n)
	if err != nil {
		return ManifestClip{}, fmt.Errorf("simulate: %s: %w", c.name, err)
	}
	var jobs []trialJob
	for _, v := range c.viewers {
		for rep := range v.repeats {
			jobs = append(jobs, trialJob{viewing: v, repeat: rep})
		}
	}
	// Simulate a few trials at once (one per core), then write them in order: HDF5 is
	// not thread-safe, and the order keeps the output independent of scheduling.
	batch := max(1, runtime.GOMAXPROCS(0))
	for start := 0; start < len(jobs); start += batch {
		part := jobs[start:min(start+batch, len(jobs))]
		errs := make([]error, len(part))
		done := make(chan struct{})
		for j := range part {
			go func() {
				defer func() { done <- struct{}{} }()
				errs[j] = r.simulate(&part[j], c, lum, n)
			}()
		}
		for range part {
			<-done
		}
		for j := range part {
			if errs[j] != nil {
				return ManifestClip{}, errs[j]
			}
			if err := r.write(&part[j], c, clip, name); err != nil {
				return ManifestClip{}, err
			}
		}
	}
	return ManifestClip{Name: c.name, Kind: c.kind, Seed: c.seed, Video: name, Frames: clip.T, Params: clip.Params, Segments: clip.Segments}, nil
}

// trialJob is one trial being simulated.
type trialJob struct {
	viewing
	repeat         int
	beh            mouse.Behavior
	rate, observed []float32 // [T,U]
}

// simulate draws the behaviour and responses of one trial.
func (r *runner) simulate(j *trialJob, c clipPlan, lum []float32, T int) error {
	m := r.mice[j.mouse]
	rng := rand.New(rand.NewPCG(seedFor(r.cfg.Seed, "trial-"+c.name, j.mouse), uint64(j.repeat)))
	var err error
	if j.beh, err = m.Behavior(T, lum, rng); err != nil {
		return fmt.Errorf("simulate: mouse %d, %s: %w", j.mouse+1, c.name, err)
	}
	if j.rate, j.observed, err = m.Respond(r.feat, j.beh, rng); err != nil {
		return fmt.Errorf("simulate: mouse %d, %s: %w", j.mouse+1, c.name, err)
	}
	return nil
}

// write stores one simulated trial in its mouse's recording.
func (r *runner) write(j *trialJob, c clipPlan, clip *stimulus.Clip, video string) error {
	w := r.writers[j.mouse]
	r.trialCount[j.mouse]++
	id := fmt.Sprintf("%04d", r.trialCount[j.mouse])
	t := &data.Trial{
		TrialInfo: data.TrialInfo{ID: id, Video: video, Stimulus: c.name, Domain: data.Domain(c.kind), Tier: j.tier,
			Frames: clip.T, Params: clip.Params, Labels: map[string]string{"repeat": strconv.Itoa(j.repeat + 1)}},
		Responses: j.observed, Pupil: j.beh.Pupil, Running: j.beh.Running, Eye: j.beh.Eye,
	}
	if err := w.WriteTrial(t); err != nil {
		return fmt.Errorf("simulate: %s: trial %s: %w", recordingName(j.mouse), id, err)
	}
	if err := w.WriteTrialExtra(id, "rate", j.rate, clip.T, len(j.rate)/clip.T); err != nil {
		return fmt.Errorf("simulate: %s: trial %s: %w", recordingName(j.mouse), id, err)
	}
	j.rate, j.observed = nil, nil
	r.done++
	if r.progress != nil {
		r.progress(r.done, r.total)
	}
	return nil
}

// writeVideo encodes a clip losslessly.
func (r *runner) writeVideo(name string, clip *stimulus.Clip) error {
	vw, err := r.sink.CreateVideo(name, clip.W, clip.H, clip.RateHz)
	if err != nil {
		return fmt.Errorf("simulate: create %s: %w", name, err)
	}
	for t := range clip.T {
		if err := vw.WriteFrame(clip.Frame(t)); err != nil {
			vw.Abort()
			return fmt.Errorf("simulate: write %s: %w", name, err)
		}
	}
	if err := vw.Close(); err != nil {
		return fmt.Errorf("simulate: finish %s: %w", name, err)
	}
	return nil
}

// seedFor derives an independent seed from the run seed, a purpose and an index, so
// each stream of random numbers is reproducible on its own.
func seedFor(seed uint64, purpose string, i int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", seed, purpose, i)
	return h.Sum64()
}
