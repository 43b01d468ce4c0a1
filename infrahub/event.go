package infrahub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event types Infrahub sends (the envelope's "event" field). Any other string
// is still decoded; its Data is nil and RawData holds the payload.
const (
	EventNodeCreated            = "infrahub.node.created"
	EventNodeUpdated            = "infrahub.node.updated"
	EventNodeDeleted            = "infrahub.node.deleted"
	EventArtifactCreated        = "infrahub.artifact.created"
	EventArtifactUpdated        = "infrahub.artifact.updated"
	EventBranchCreated          = "infrahub.branch.created"
	EventBranchDeleted          = "infrahub.branch.deleted"
	EventBranchMerged           = "infrahub.branch.merged"
	EventBranchRebased          = "infrahub.branch.rebased"
	EventGroupMemberAdded       = "infrahub.group.member_added"
	EventGroupMemberRemoved     = "infrahub.group.member_removed"
	EventProposedChangeMerged   = "infrahub.proposed_change.merged"
	EventProposedChangeApproved = "infrahub.proposed_change.approved"
	EventProposedChangeRejected = "infrahub.proposed_change.rejected"
	EventValidatorStarted       = "infrahub.validator.started"
	EventValidatorPassed        = "infrahub.validator.passed"
	EventValidatorFailed        = "infrahub.validator.failed"
	EventRepositoryUpdateCommit = "infrahub.repository.update_commit"
	EventSchemaUpdated          = "infrahub.schema.updated"
)

// ErrMalformedEvent is wrapped by every error DecodeEvent returns; the
// webhook handler answers it with 400.
var ErrMalformedEvent = errors.New("malformed infrahub event")

// Event is one decoded Infrahub webhook body.
//
// Infrahub 1.2 and later send the envelope
// {data, id, branch, account_id, occured_at, event}; 1.0 and 1.1 sent
// {event_type, data} (Legacy is then true and only Type, Data/RawData are
// set).
type Event struct {
	// ID is the event id from the body. It stays the same when Infrahub
	// retries a delivery (the webhook-id header does not), so it is the key
	// to deduplicate on; see DedupKey.
	ID string
	// Type is the event name, for example "infrahub.node.updated".
	Type string
	// Branch is the branch the event happened on; empty when Infrahub sent
	// null (branch events carry their branch in Data).
	Branch string
	// AccountID is the account that caused the event.
	AccountID string
	// OccurredAt is the envelope's "occured_at" (Infrahub's spelling).
	OccurredAt time.Time
	// Legacy is true for the 1.0/1.1 envelope {event_type, data}.
	Legacy bool
	// Data is the typed payload: *NodeData, *ArtifactData, *BranchData,
	// *GroupMemberData, *ProposedChangeData, *ValidatorData,
	// *RepositoryData or *SchemaData; nil for other event types and for
	// the legacy envelope (use RawData for those).
	Data EventData
	// Body is the whole webhook body as received.
	Body json.RawMessage

	legacyKey string
}

// DedupKey is the key a receiver deduplicates deliveries on: the body's id,
// which Infrahub keeps across retries. The legacy envelope has no id; its
// key is "sha256:" followed by the hex digest of the body's canonical form
// (compact JSON, strings re-escaped as ASCII JSON), so a redelivery maps to
// the same key even when it differs from the first in JSON whitespace or
// string escaping, which the signature does not cover (see
// [Verifier.Verify]).
func (e *Event) DedupKey() string {
	if e.ID != "" {
		return e.ID
	}
	return e.legacyKey
}

// EventData is implemented by the typed payloads in Event.Data.
type EventData interface{ eventData() }

// NodeData is the payload of infrahub.node.created/updated/deleted.
type NodeData struct {
	Kind      string        `json:"kind"`
	NodeID    string        `json:"node_id"`
	Action    string        `json:"action"`
	Fields    []string      `json:"fields"`
	Changelog NodeChangelog `json:"changelog"`
}

// NodeChangelog describes what changed on a node.
type NodeChangelog struct {
	NodeID        string                        `json:"node_id"`
	NodeKind      string                        `json:"node_kind"`
	DisplayLabel  string                        `json:"display_label"`
	Attributes    map[string]AttributeChange    `json:"attributes"`
	Relationships map[string]RelationshipChange `json:"relationships"`
}

// AttributeChange is one attribute's change. Value and ValuePrevious are the
// raw JSON values (a string, number, bool, list or null) so no precision or
// type is lost; use json.Unmarshal to read them into a Go type.
type AttributeChange struct {
	Name              string                    `json:"name"`
	Kind              string                    `json:"kind"`
	Value             json.RawMessage           `json:"value"`
	ValuePrevious     json.RawMessage           `json:"value_previous"`
	ValueUpdateStatus string                    `json:"value_update_status"`
	Properties        map[string]PropertyChange `json:"properties"`
}

// PropertyChange is the change of an attribute or relationship property
// (is_visible, is_protected, source, owner).
type PropertyChange struct {
	Name              string          `json:"name"`
	Value             json.RawMessage `json:"value"`
	ValuePrevious     json.RawMessage `json:"value_previous"`
	ValueType         string          `json:"value_type"`
	ValueUpdateStatus string          `json:"value_update_status"`
}

// RelationshipChange is one relationship's change. Cardinality "one" uses
// PeerID/PeerKind and their previous values; cardinality "many" uses Peers.
type RelationshipChange struct {
	Name             string                    `json:"name"`
	Cardinality      string                    `json:"cardinality"`
	PeerID           string                    `json:"peer_id"`
	PeerKind         string                    `json:"peer_kind"`
	PeerIDPrevious   string                    `json:"peer_id_previous"`
	PeerKindPrevious string                    `json:"peer_kind_previous"`
	Peers            []PeerChange              `json:"peers"`
	Properties       map[string]PropertyChange `json:"properties"`
}

// PeerChange is one peer of a cardinality-many relationship change.
type PeerChange struct {
	PeerID     string                    `json:"peer_id"`
	PeerKind   string                    `json:"peer_kind"`
	PeerStatus string                    `json:"peer_status"`
	Properties map[string]PropertyChange `json:"properties"`
}

// ArtifactData is the payload of infrahub.artifact.created/updated.
// Infrahub sends them only when a generation produced content whose MD5
// checksum differs from the artifact's (Checksum and StorageID are new,
// ChecksumPrevious and StorageIDPrevious the former ones); a generation
// with unchanged content stores nothing and sends no event.
type ArtifactData struct {
	NodeID                 string `json:"node_id"`
	ArtifactDefinitionID   string `json:"artifact_definition_id"`
	ArtifactDefinitionName string `json:"artifact_definition_name"`
	TargetID               string `json:"target_id"`
	TargetKind             string `json:"target_kind"`
	Checksum               string `json:"checksum"`
	ChecksumPrevious       string `json:"checksum_previous"`
	StorageID              string `json:"storage_id"`
	StorageIDPrevious      string `json:"storage_id_previous"`
}

// BranchData is the payload of infrahub.branch.created/deleted/merged/rebased.
type BranchData struct {
	BranchID         string `json:"branch_id"`
	BranchName       string `json:"branch_name"`
	SyncWithGit      bool   `json:"sync_with_git"`
	ProposedChangeID string `json:"proposed_change_id"`
}

// GroupMemberData is the payload of infrahub.group.member_added/removed.
type GroupMemberData struct {
	Kind      string            `json:"kind"`
	NodeID    string            `json:"node_id"`
	Action    string            `json:"action"`
	Members   []json.RawMessage `json:"members"`
	Ancestors []json.RawMessage `json:"ancestors"`
}

// ProposedChangeData is the payload of the infrahub.proposed_change.* and
// infrahub.proposed_change_thread.* events; fields an event does not carry
// stay empty.
type ProposedChangeData struct {
	ProposedChangeID       string            `json:"proposed_change_id"`
	ProposedChangeName     string            `json:"proposed_change_name"`
	ProposedChangeState    string            `json:"proposed_change_state"`
	ReviewerAccountID      string            `json:"reviewer_account_id"`
	ReviewerAccountName    string            `json:"reviewer_account_name"`
	ReviewerDecision       string            `json:"reviewer_decision"`
	ReviewerFormerDecision string            `json:"reviewer_former_decision"`
	ReviewerAccounts       []json.RawMessage `json:"reviewer_accounts"`
	MergedByAccountID      string            `json:"merged_by_account_id"`
	MergedByAccountName    string            `json:"merged_by_account_name"`
	RequestedByAccountID   string            `json:"requested_by_account_id"`
	RequestedByAccountName string            `json:"requested_by_account_name"`
	ThreadID               string            `json:"thread_id"`
	ThreadKind             string            `json:"thread_kind"`
	Action                 string            `json:"action"`
}

// ValidatorData is the payload of infrahub.validator.started/passed/failed.
type ValidatorData struct {
	NodeID           string `json:"node_id"`
	Kind             string `json:"kind"`
	ProposedChangeID string `json:"proposed_change_id"`
}

// RepositoryData is the payload of infrahub.repository.update_commit.
type RepositoryData struct {
	Commit         string `json:"commit"`
	RepositoryID   string `json:"repository_id"`
	RepositoryName string `json:"repository_name"`
}

// SchemaData is the payload of infrahub.schema.updated.
type SchemaData struct {
	BranchName string `json:"branch_name"`
	SchemaHash string `json:"schema_hash"`
}

func (*NodeData) eventData()           {}
func (*ArtifactData) eventData()       {}
func (*BranchData) eventData()         {}
func (*GroupMemberData) eventData()    {}
func (*ProposedChangeData) eventData() {}
func (*ValidatorData) eventData()      {}
func (*RepositoryData) eventData()     {}
func (*SchemaData) eventData()         {}

// newEventData returns an empty typed payload for an event type, or nil when
// the type has no typed payload.
func newEventData(typ string) EventData {
	family, _, ok := strings.Cut(strings.TrimPrefix(typ, "infrahub."), ".")
	if !ok || !strings.HasPrefix(typ, "infrahub.") {
		return nil
	}
	switch family {
	case "node":
		return new(NodeData)
	case "artifact":
		return new(ArtifactData)
	case "branch":
		return new(BranchData)
	case "group":
		if strings.HasPrefix(typ, "infrahub.group.member_") {
			return new(GroupMemberData)
		}
	case "proposed_change", "proposed_change_thread":
		return new(ProposedChangeData)
	case "validator":
		return new(ValidatorData)
	case "repository":
		return new(RepositoryData)
	case "schema":
		return new(SchemaData)
	}
	return nil
}

// wireData is the union of every typed payload's fields, so that a body is
// decoded in one pass before the event type is known; toTyped copies the
// fields that belong to the event's type.
type wireData struct {
	Kind                   string            `json:"kind"`
	NodeID                 string            `json:"node_id"`
	Action                 string            `json:"action"`
	Fields                 []string          `json:"fields"`
	Changelog              NodeChangelog     `json:"changelog"`
	ArtifactDefinitionID   string            `json:"artifact_definition_id"`
	ArtifactDefinitionName string            `json:"artifact_definition_name"`
	TargetID               string            `json:"target_id"`
	TargetKind             string            `json:"target_kind"`
	Checksum               string            `json:"checksum"`
	ChecksumPrevious       string            `json:"checksum_previous"`
	StorageID              string            `json:"storage_id"`
	StorageIDPrevious      string            `json:"storage_id_previous"`
	BranchID               string            `json:"branch_id"`
	BranchName             string            `json:"branch_name"`
	SyncWithGit            bool              `json:"sync_with_git"`
	ProposedChangeID       string            `json:"proposed_change_id"`
	Members                []json.RawMessage `json:"members"`
	Ancestors              []json.RawMessage `json:"ancestors"`
	ProposedChangeName     string            `json:"proposed_change_name"`
	ProposedChangeState    string            `json:"proposed_change_state"`
	ReviewerAccountID      string            `json:"reviewer_account_id"`
	ReviewerAccountName    string            `json:"reviewer_account_name"`
	ReviewerDecision       string            `json:"reviewer_decision"`
	ReviewerFormerDecision string            `json:"reviewer_former_decision"`
	ReviewerAccounts       []json.RawMessage `json:"reviewer_accounts"`
	MergedByAccountID      string            `json:"merged_by_account_id"`
	MergedByAccountName    string            `json:"merged_by_account_name"`
	RequestedByAccountID   string            `json:"requested_by_account_id"`
	RequestedByAccountName string            `json:"requested_by_account_name"`
	ThreadID               string            `json:"thread_id"`
	ThreadKind             string            `json:"thread_kind"`
	Commit                 string            `json:"commit"`
	RepositoryID           string            `json:"repository_id"`
	RepositoryName         string            `json:"repository_name"`
	SchemaHash             string            `json:"schema_hash"`
}

func (w *wireData) toTyped(typ string) EventData {
	switch d := newEventData(typ).(type) {
	case *NodeData:
		*d = NodeData{Kind: w.Kind, NodeID: w.NodeID, Action: w.Action, Fields: w.Fields, Changelog: w.Changelog}
		return d
	case *ArtifactData:
		*d = ArtifactData{NodeID: w.NodeID, ArtifactDefinitionID: w.ArtifactDefinitionID, ArtifactDefinitionName: w.ArtifactDefinitionName,
			TargetID: w.TargetID, TargetKind: w.TargetKind, Checksum: w.Checksum, ChecksumPrevious: w.ChecksumPrevious,
			StorageID: w.StorageID, StorageIDPrevious: w.StorageIDPrevious}
		return d
	case *BranchData:
		*d = BranchData{BranchID: w.BranchID, BranchName: w.BranchName, SyncWithGit: w.SyncWithGit, ProposedChangeID: w.ProposedChangeID}
		return d
	case *GroupMemberData:
		*d = GroupMemberData{Kind: w.Kind, NodeID: w.NodeID, Action: w.Action, Members: w.Members, Ancestors: w.Ancestors}
		return d
	case *ProposedChangeData:
		*d = ProposedChangeData{ProposedChangeID: w.ProposedChangeID, ProposedChangeName: w.ProposedChangeName,
			ProposedChangeState: w.ProposedChangeState, ReviewerAccountID: w.ReviewerAccountID, ReviewerAccountName: w.ReviewerAccountName,
			ReviewerDecision: w.ReviewerDecision, ReviewerFormerDecision: w.ReviewerFormerDecision, ReviewerAccounts: w.ReviewerAccounts,
			MergedByAccountID: w.MergedByAccountID, MergedByAccountName: w.MergedByAccountName,
			RequestedByAccountID: w.RequestedByAccountID, RequestedByAccountName: w.RequestedByAccountName,
			ThreadID: w.ThreadID, ThreadKind: w.ThreadKind, Action: w.Action}
		return d
	case *ValidatorData:
		*d = ValidatorData{NodeID: w.NodeID, Kind: w.Kind, ProposedChangeID: w.ProposedChangeID}
		return d
	case *RepositoryData:
		*d = RepositoryData{Commit: w.Commit, RepositoryID: w.RepositoryID, RepositoryName: w.RepositoryName}
		return d
	case *SchemaData:
		*d = SchemaData{BranchName: w.BranchName, SchemaHash: w.SchemaHash}
		return d
	}
	return nil
}

// envelope is the wire form of both envelope generations.
type envelope[D any] struct {
	Data      D       `json:"data"`
	ID        *string `json:"id"`
	Branch    *string `json:"branch"`
	AccountID *string `json:"account_id"`
	OccuredAt *string `json:"occured_at"`
	Event     *string `json:"event"`
	EventType *string `json:"event_type"`
}

// DecodeEvent decodes a webhook body (either envelope generation) into an
// Event with typed Data. Errors wrap ErrMalformedEvent and name the field.
func DecodeEvent(body []byte) (*Event, error) {
	// Fast path: one pass into the union of all payloads. If that fails,
	// decode the data as raw JSON to tell a malformed envelope or a
	// malformed typed payload from an unknown event type whose data merely
	// clashes with the union's field types.
	var env envelope[*wireData]
	if err := json.Unmarshal(body, &env); err != nil {
		var raw envelope[json.RawMessage]
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
		}
		typ := deref(raw.Event)
		if raw.Event == nil {
			typ = deref(raw.EventType)
		}
		if newEventData(typ) != nil && raw.Event != nil {
			return nil, fmt.Errorf("%w: field \"data\" of %s: %v", ErrMalformedEvent, typ, err)
		}
		env = envelope[*wireData]{ID: raw.ID, Branch: raw.Branch, AccountID: raw.AccountID,
			OccuredAt: raw.OccuredAt, Event: raw.Event, EventType: raw.EventType}
	}
	ev := &Event{Body: bytes.Clone(body)}
	switch {
	case env.Event != nil:
		ev.Type = *env.Event
	case env.EventType != nil:
		ev.Type = *env.EventType
		ev.Legacy = true
		ev.legacyKey = legacyKey(body)
	default:
		return nil, fmt.Errorf("%w: field \"event\" is missing", ErrMalformedEvent)
	}
	if ev.Type == "" {
		return nil, fmt.Errorf("%w: field \"event\" is empty", ErrMalformedEvent)
	}
	if ev.Legacy {
		return ev, nil
	}
	if env.ID == nil || *env.ID == "" {
		return nil, fmt.Errorf("%w: field \"id\" is missing", ErrMalformedEvent)
	}
	ev.ID = *env.ID
	ev.Branch = deref(env.Branch)
	ev.AccountID = deref(env.AccountID)
	if env.OccuredAt != nil {
		t, err := ParseTime(*env.OccuredAt)
		if err != nil {
			return nil, fmt.Errorf("%w: field \"occured_at\": %v", ErrMalformedEvent, err)
		}
		ev.OccurredAt = t
	}
	if env.Data != nil {
		ev.Data = env.Data.toTyped(ev.Type)
	}
	return ev, nil
}

// RawData returns the body's "data" object exactly as received (null when
// absent), for event types without a typed payload or fields the typed
// payload does not carry.
func (e *Event) RawData() (json.RawMessage, error) {
	var env envelope[json.RawMessage]
	if err := json.Unmarshal(e.Body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if env.Data == nil {
		return json.RawMessage("null"), nil
	}
	return env.Data, nil
}

// ParseTime parses a time as Infrahub writes it: RFC 3339, or the same with
// a space instead of the "T" ("2025-03-13 16:31:14.566032+00:00").
func ParseTime(s string) (time.Time, error) {
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: not RFC 3339", s)
	}
	return t, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// legacyKey hashes the canonical form of a legacy body. A body the
// canonicalizer refuses (encoding/json is more lenient in a few corners,
// such as nesting deeper than Python can sign) is hashed as received.
func legacyKey(body []byte) string {
	canonical, err := pythonForm(body, pyCompact)
	if err != nil {
		canonical = body
	}
	sum := sha256.Sum256(canonical)
	return "sha256:" + hex.EncodeToString(sum[:])
}
