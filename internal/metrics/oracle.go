package metrics

import (
	"fmt"
	"math"
)

// DefaultBurnin is the number of frames dropped at the start of every test clip before scoring
// (MODEL.md 9.1, the reference's burnin_frames).
const DefaultBurnin = 10

// UnitScore holds the repeat-based metrics of one unit.
type UnitScore struct {
	CCAbs  float64 // correlation of repeat averages (MODEL.md 9.2)
	CCMax  float64 // noise ceiling of the correlation (9.3); NaN when SP < 0
	CCNorm float64 // CCAbs / CCMax (9.4)
	FEV    float64 // fraction of explainable variance (9.8)
	FEVE   float64 // fraction of explainable variance explained (9.8)
}

// Oracle collects the repeated test ("oracle") trials of one scan and scores every unit with
// the reference's test protocol (MODEL.md 9.1): the first burn-in frames of every trial are
// dropped; clips with fewer repeats than the most repeated clip are padded with whole NaN
// repeats; the clips are concatenated in time, giving per unit responses and predictions of
// shape [R_max, Σ_clips (frames − burnin)]. Feed it one trial at a time with Add, then call
// Scores. It keeps a copy of every trial after burn-in (8 bytes per frame and unit: about 120 MB
// for 60 trials of 300 frames and 8,509 units). The zero value is not usable; use NewOracle.
type Oracle struct {
	units  int
	burnin int
	clips  []*oracleClip
	index  map[string]int // clip key → position in clips
}

// oracleClip holds the repeats of one clip, each stored unit-major ([U, T'] with
// T' = frames − burnin) so that Scores reads one unit's samples contiguously.
type oracleClip struct {
	key    string
	frames int         // T' = frames after burn-in
	pred   [][]float32 // per repeat, [U, T']
	resp   [][]float32 // per repeat, [U, T']
}

// NewOracle returns an empty Oracle for a scan with the given number of units that drops the
// first burnin frames of every trial (normally DefaultBurnin).
func NewOracle(units, burnin int) (*Oracle, error) {
	if units < 1 {
		return nil, fmt.Errorf("oracle: %d units, want at least 1", units)
	}
	if burnin < 0 {
		return nil, fmt.Errorf("oracle: burn-in %d frames, want 0 or more", burnin)
	}
	return &Oracle{units: units, burnin: burnin, index: map[string]int{}}, nil
}

// Add records one repeat of the clip named by key (any identifier shared by the repeats of one
// stimulus, such as a video hash). pred and resp are the trial's predictions and responses,
// row-major [frames, U]. All repeats of a clip must have the same number of frames, and it must
// exceed the burn-in. The slices are copied; NaN marks a missing response.
func (o *Oracle) Add(key string, pred, resp []float32, frames int) error {
	if frames <= o.burnin {
		return fmt.Errorf("oracle: clip %q: trial of %d frames, want more than the %d burn-in frames", key, frames, o.burnin)
	}
	if len(pred) != frames*o.units || len(resp) != frames*o.units {
		return fmt.Errorf("oracle: clip %q: %d prediction and %d response values, want %d frames × %d units = %d: %w",
			key, len(pred), len(resp), frames, o.units, frames*o.units, ErrShape)
	}
	kept := frames - o.burnin
	i, ok := o.index[key]
	if !ok {
		i = len(o.clips)
		o.index[key] = i
		o.clips = append(o.clips, &oracleClip{key: key, frames: kept})
	}
	c := o.clips[i]
	if c.frames != kept {
		return fmt.Errorf("oracle: clip %q: trial of %d frames, earlier repeats have %d", key, frames, c.frames+o.burnin)
	}
	skip := o.burnin * o.units
	c.pred = append(c.pred, transpose(pred[skip:], kept, o.units))
	c.resp = append(c.resp, transpose(resp[skip:], kept, o.units))
	return nil
}

// Clips returns the number of distinct clips added so far.
func (o *Oracle) Clips() int { return len(o.clips) }

// Scores returns the metrics of every unit, [U]. Units whose metric is undefined (for example a
// silent unit) get NaN in that field; see CCAbs, CCMax and FEVE.
func (o *Oracle) Scores() ([]UnitScore, error) {
	if len(o.clips) == 0 {
		return nil, fmt.Errorf("oracle: no trials added")
	}
	rmax, total := 0, 0
	for _, c := range o.clips {
		rmax = max(rmax, len(c.resp))
		total += c.frames
	}

	// One unit at a time: gather its [R_max, T] block, padded with NaN repeats, into buffers
	// reused across units.
	pred := make([]float32, rmax*total)
	resp := make([]float32, rmax*total)
	s := newScratch(total)
	nan := float32(math.NaN())
	scores := make([]UnitScore, o.units)
	for u := range scores {
		off := 0
		for _, c := range o.clips {
			for r := 0; r < rmax; r++ {
				dp := pred[r*total+off : r*total+off+c.frames]
				dx := resp[r*total+off : r*total+off+c.frames]
				if r < len(c.resp) {
					copy(dp, c.pred[r][u*c.frames:(u+1)*c.frames])
					copy(dx, c.resp[r][u*c.frames:(u+1)*c.frames])
					continue
				}
				for j := range dp {
					dp[j], dx[j] = nan, nan
				}
			}
			off += c.frames
		}
		scores[u] = scoreUnit(s, pred, resp, rmax, total)
	}
	return scores, nil
}

// scoreUnit computes every repeat-based metric of one unit's [r, t] block with shared buffers.
func scoreUnit[F Float](s *scratch, pred, resp []F, r, t int) UnitScore {
	s.resize(t)
	columnMeans(pred, r, t, s.pm, s.pcnt)
	columnMeans(resp, r, t, s.xm, s.cnt)
	var sc UnitScore
	sc.CCAbs = pearsonValid(s.pm, s.xm)
	sc.CCMax = ccMax(resp, r, t, s.xm, s.cnt)
	sc.CCNorm = sc.CCAbs / sc.CCMax
	sc.FEV, sc.FEVE = feveUnit(s, pred, resp, r, t)
	return sc
}

// transpose returns a new [cols, rows] copy of the row-major [rows, cols] slice src. It walks
// tiles so that both the reads and the writes stay within a few cache lines.
func transpose(src []float32, rows, cols int) []float32 {
	const tile = 32
	dst := make([]float32, rows*cols)
	for i0 := 0; i0 < rows; i0 += tile {
		i1 := min(i0+tile, rows)
		for j0 := 0; j0 < cols; j0 += tile {
			j1 := min(j0+tile, cols)
			for i := i0; i < i1; i++ {
				row := src[i*cols : (i+1)*cols]
				for j := j0; j < j1; j++ {
					dst[j*rows+i] = row[j]
				}
			}
		}
	}
	return dst
}
