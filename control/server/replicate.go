package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/failover"
	"github.com/xdhcp/xdhcp/internal/config"
)

// Scope settings replication (docs/FAILOVER.md): the failover scopes'
// settings in force here, their version, and the copy replicated from the
// partner when one overrides the configuration file's.

var (
	_ failover.ScopeSettings     = (*Server)(nil)
	_ failover.AsyncBatchApplier = (*Server)(nil)
)

// replicaKey is the store's meta key of the replication record.
const replicaKey = "replicate/settings"

// replicaRecord is the durable replication state.
type replicaRecord struct {
	Generation uint64    `json:"generation"`
	Changed    time.Time `json:"changed"`
	Hash       []byte    `json:"hash"` // SHA-256 of the settings payload in force
	// FileHash is the hash of the configuration file's failover scopes
	// when the replicated Scopes were adopted: while the file's copy
	// still hashes to it, the replicated copy wins; once the file's copy
	// changes, the file wins (a newer local edit).
	FileHash []byte         `json:"file-hash,omitempty"`
	Scopes   []config.Scope `json:"scopes,omitempty"` // the replicated copy in force; nil: the file's
}

// replicaState is the server's replication state; mu is taken alone.
type replicaState struct {
	// change serialises the changes of the scopes in force (reload,
	// start, a partner's push), each from choosing the copy to storing
	// its version; taken before the server's other locks.
	change  sync.Mutex
	mu      sync.Mutex
	loaded  bool
	rec     replicaRecord
	data    []byte         // the settings payload in force (its hash is rec.Hash)
	fileCfg *config.Config // the configuration file as last put in force, before any replicated copy
}

// encodeScopes is the settings payload: the failover scopes, sorted by
// subnet, as canonical JSON (Go's encoder sorts map keys).
func encodeScopes(scopes []config.Scope) ([]byte, error) {
	out := make([]config.Scope, len(scopes))
	for i, s := range scopes {
		s.Line = 0
		s.Reservations = slices.Clone(s.Reservations)
		for k := range s.Reservations {
			s.Reservations[k].Line = 0
		}
		out[i] = s
	}
	slices.SortFunc(out, func(a, b config.Scope) int { return a.Subnet.Addr().Compare(b.Subnet.Addr()) })
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode failover scopes: %w", err)
	}
	return b, nil
}

// decodeScopes reads a partner's payload strictly: one JSON list of
// scopes, no unknown fields, nothing after it.
func decodeScopes(data []byte) ([]config.Scope, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var scopes []config.Scope
	if err := dec.Decode(&scopes); err != nil {
		return nil, fmt.Errorf("decode replicated scopes: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode replicated scopes: data after the scope list")
	}
	if len(scopes) == 0 {
		return nil, errors.New("decode replicated scopes: no scope")
	}
	return scopes, nil
}

// failoverScopesOf returns cfg's scopes under failover.
func failoverScopesOf(cfg *config.Config) []config.Scope {
	if cfg.Failover == nil {
		return nil
	}
	var out []config.Scope
	for _, s := range cfg.Scopes {
		if slices.Contains(cfg.Failover.Scopes, s.Subnet) {
			out = append(out, s)
		}
	}
	return out
}

func subnetList(scopes []config.Scope) string {
	var names []string
	for _, s := range scopes {
		names = append(names, s.Subnet.String())
	}
	return strings.Join(names, ", ")
}

// loadReplica reads the durable record once; rep.mu is held.
func (s *Server) loadReplica() {
	r := &s.fo.rep
	if r.loaded {
		return
	}
	r.loaded = true
	b, ok, err := s.store.GetMeta(replicaKey)
	if err != nil {
		s.log.Error("reading the scope settings replication record; starting a new one", zap.Error(err))
		return
	}
	if ok && len(b) > 0 {
		if err := json.Unmarshal(b, &r.rec); err != nil {
			s.log.Error("the scope settings replication record is unreadable; starting a new one", zap.Error(err))
			r.rec = replicaRecord{}
		}
	}
}

func (s *Server) saveReplica(rec replicaRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode scope settings record: %w", err)
	}
	if err := s.store.PutMeta(replicaKey, b); err != nil {
		return fmt.Errorf("store scope settings record: %w", err)
	}
	return nil
}

// replicaOverlay decides which copy of the failover scopes goes in force
// with fileCfg, a configuration just read from the file: the replicated
// copy while the file's copy is unchanged since it was adopted, else the
// file's (a local change, which gets a new generation). It returns the
// configuration to put in force and done, to call with whether it went in
// force (its version is then stored). Changes are serialised from this
// call to done. Problems are logged; the file's copy is the fallback.
func (s *Server) replicaOverlay(fileCfg *config.Config) (*config.Config, func(applied bool)) {
	if fileCfg.Failover == nil {
		return fileCfg, func(bool) {}
	}
	r := &s.fo.rep
	r.change.Lock()
	cfg, commit := s.chooseCopy(fileCfg)
	return cfg, func(applied bool) {
		defer r.change.Unlock()
		if applied {
			commit()
		}
	}
}

// chooseCopy is replicaOverlay's decision; r.change is held.
func (s *Server) chooseCopy(fileCfg *config.Config) (*config.Config, func()) {
	r := &s.fo.rep
	r.mu.Lock()
	s.loadReplica()
	rec := r.rec
	r.mu.Unlock()
	fileScopes := failoverScopesOf(fileCfg)
	fileData, err := encodeScopes(fileScopes)
	if err != nil {
		s.log.Error("scope settings replication disabled for this configuration", zap.Error(err))
		return fileCfg, func() {}
	}
	fileHash := sha256.Sum256(fileData)
	if rec.Scopes != nil && bytes.Equal(rec.FileHash, fileHash[:]) {
		data, err := encodeScopes(rec.Scopes)
		var cfg *config.Config
		if err == nil {
			cfg, err = config.ReplaceScopes(fileCfg, rec.Scopes)
		}
		if err == nil {
			return cfg, func() {
				s.log.Warn("the configuration file's copy of the failover scopes is overridden by the copy replicated from the partner; edit those scopes in the file (and reload) to take them back",
					zap.String("scopes", subnetList(rec.Scopes)), zap.Uint64("generation", rec.Generation), zap.Time("changed", rec.Changed))
				s.putReplica(rec, data, fileCfg)
				s.autoReplicate()
			}
		}
		s.log.Error("the scopes replicated from the partner no longer fit this configuration; serving the file's copy", zap.Error(err))
	}
	return fileCfg, func() {
		next := rec
		if rec.Scopes != nil {
			s.log.Info("the configuration file's failover scopes changed since the partner's copy was adopted; the file's copy is in force",
				zap.String("scopes", subnetList(fileScopes)))
			next.Scopes, next.FileHash = nil, nil
		}
		if !bytes.Equal(rec.Hash, fileHash[:]) || rec.Scopes != nil {
			next.Generation++
			next.Changed = time.Now()
			next.Hash = fileHash[:]
		}
		s.putReplica(next, fileData, fileCfg)
		s.autoReplicate()
	}
}

// putReplica makes rec durable and current.
func (s *Server) putReplica(rec replicaRecord, data []byte, fileCfg *config.Config) {
	r := &s.fo.rep
	r.mu.Lock()
	defer r.mu.Unlock()
	if !recordsEqual(rec, r.rec) {
		if err := s.saveReplica(rec); err != nil {
			s.log.Error("the scope settings version is not durable; it is kept in memory", zap.Error(err))
		}
	}
	r.rec, r.data, r.fileCfg = rec, data, fileCfg
}

func recordsEqual(a, b replicaRecord) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// startReplica puts the replicated copy of the failover scopes in force at
// start, when one overrides the file's (EnableFailover).
func (s *Server) startReplica() {
	s.mu.RLock()
	fileCfg := s.cfg
	s.mu.RUnlock()
	cfg, done := s.replicaOverlay(fileCfg)
	if cfg == fileCfg {
		done(true)
		return
	}
	_, err := s.swapConfig(cfg)
	done(err == nil)
	if err != nil {
		s.log.Error("could not put the replicated scopes in force; serving the file's copy", zap.Error(err))
		// The file's copy stays in force: make it the current version
		// (chooseCopy takes the file's copy once the replicated one no
		// longer matches it).
		r := &s.fo.rep
		r.change.Lock()
		defer r.change.Unlock()
		r.mu.Lock()
		r.rec.FileHash = nil
		r.mu.Unlock()
		_, commit := s.chooseCopy(fileCfg)
		commit()
	}
}

// autoReplicate pushes the settings to the partner after a reload in
// replicate-scopes: auto. It does not wait: the outcome is logged.
func (s *Server) autoReplicate() {
	s.mu.RLock()
	auto := s.cfg.Failover != nil && s.cfg.Failover.ReplicateScopes == config.ReplicateAuto
	s.mu.RUnlock()
	p := s.fo.partner
	if !auto || p == nil || !s.engineStarted() {
		return
	}
	go func() {
		res, err := p.Replicate(false)
		if err != nil {
			s.log.Warn("automatic scope settings replication did not apply", zap.String("outcome", res.Outcome), zap.Error(err))
			return
		}
		s.log.Info("scope settings replicated to the partner", zap.String("outcome", res.Outcome), zap.Stringer("version", res.Ours))
	}()
}

// engineStarted says whether the engine's Run has begun (at start it has
// not, and the connection's own automatic push covers the settings).
func (s *Server) engineStarted() bool {
	p := s.fo.partner
	return p != nil && p.Status().State != ""
}

// LocalSettings returns the failover scopes' settings in force and their
// version (failover.ScopeSettings).
func (s *Server) LocalSettings() (failover.Settings, error) {
	r := &s.fo.rep
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.data == nil {
		return failover.Settings{}, errors.New("no failover scope settings are in force yet")
	}
	v := failover.SettingsVersion{Generation: r.rec.Generation, Changed: r.rec.Changed}
	copy(v.Hash[:], r.rec.Hash)
	return failover.Settings{Version: v, Data: r.data}, nil
}

// ApplySettings puts the partner's failover scopes in force through the
// reload path, keeping every lease, and makes them durable so that a
// restart keeps them (failover.ScopeSettings). Nothing changes on error.
func (s *Server) ApplySettings(in failover.Settings) error {
	scopes, err := decodeScopes(in.Data)
	if err != nil {
		return err
	}
	r := &s.fo.rep
	r.change.Lock()
	defer r.change.Unlock()
	r.mu.Lock()
	s.loadReplica()
	fileCfg, prev := r.fileCfg, r.rec
	r.mu.Unlock()
	if fileCfg == nil {
		return errors.New("this server has not finished starting")
	}
	cfg, err := config.ReplaceScopes(fileCfg, scopes)
	if err != nil {
		return err
	}
	fileData, err := encodeScopes(failoverScopesOf(fileCfg))
	if err != nil {
		return err
	}
	fileHash := sha256.Sum256(fileData)
	rec := replicaRecord{Generation: in.Version.Generation, Changed: in.Version.Changed, Hash: in.Version.Hash[:],
		FileHash: fileHash[:], Scopes: scopes}
	// Durable first: a crash after the swap must not fall back to the old
	// settings on restart while the partner believes we have these.
	if err := s.saveReplica(rec); err != nil {
		return err
	}
	if _, err := s.swapConfig(cfg); err != nil {
		if rerr := s.saveReplica(prev); rerr != nil {
			s.log.Error("could not restore the previous scope settings record", zap.Error(rerr))
		}
		return err
	}
	r.mu.Lock()
	r.rec, r.data = rec, bytes.Clone(in.Data)
	r.mu.Unlock()
	s.log.Info("scope settings replicated from the partner are in force; they override this file's copy of those scopes until it is edited",
		zap.String("scopes", subnetList(scopes)), zap.Stringer("version", in.Version))
	return nil
}

// settingsVersion is the version of the failover scopes in force and
// whether they are a copy replicated from the partner.
func (s *Server) settingsVersion() (api.SettingsVersion, bool) {
	r := &s.fo.rep
	r.mu.Lock()
	defer r.mu.Unlock()
	v := failover.SettingsVersion{Generation: r.rec.Generation, Changed: r.rec.Changed}
	copy(v.Hash[:], r.rec.Hash)
	return apiVersion(v), r.rec.Scopes != nil
}

// replicateControl runs xdhcpctl failover replicate.
func (s *Server) replicateControl(fc FailoverPeer, force bool) (any, error) {
	res, err := fc.Replicate(force)
	out := api.Replicate{Outcome: res.Outcome, Ours: apiVersion(res.Ours), Partner: apiVersion(res.Partner), Message: res.Message, Forced: force}
	if err != nil {
		if res.Outcome == failover.OutcomeRefused && !force {
			return nil, fmt.Errorf("replicate: %w (xdhcpctl failover replicate --force overrides the partner's copy)", err)
		}
		return nil, fmt.Errorf("replicate: %w", err)
	}
	return out, nil
}

func apiVersion(v failover.SettingsVersion) api.SettingsVersion {
	if v.Generation == 0 && v.Changed.IsZero() {
		return api.SettingsVersion{}
	}
	return api.SettingsVersion{Generation: v.Generation, Changed: v.Changed, Hash: fmt.Sprintf("%x", v.Hash[:])}
}
