// Added to FerretDB's SQLite backend by hookflow's build (tools/ferretdb/patch.mjs); see the patch's header
// for what it changes and the one assumption it makes (indexed fields never hold arrays).

package sqlite

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// plainField is a top-level field name that can be written in a SQLite JSON path without quoting.
var plainField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxInValues bounds the `$in` lists pushed down (longer ones are filtered in memory only).
const maxInValues = 1000

// valueColumn is the SQL expression of a top-level field's value: the same text as in the indexes
// metadata.ValueIndexColumn builds, which SQLite's planner needs to match a condition with an index.
func valueColumn(field string) string {
	return fmt.Sprintf("%s->>'$.%s'", metadata.DefaultColumn, field)
}

// sqlValue is v as SQLite sees the stored value of the same BSON value through `->>`: sjson stores strings
// as strings, ObjectIDs as hex, dates as milliseconds, booleans as true/false (1/0). Other types are not
// pushed down.
func sqlValue(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case types.ObjectID:
		return hex.EncodeToString(v[:]), true
	case time.Time:
		return v.UnixMilli(), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case bool:
		if v {
			return int64(1), true
		}
		return int64(0), true
	}

	return nil, false
}

// indexedFields are the top-level fields any of the collection's indexes holds, and _id.
func indexedFields(meta *metadata.Collection) map[string]bool {
	fields := map[string]bool{"_id": true}
	for _, index := range meta.Settings.Indexes {
		for _, key := range index.Key {
			fields[key.Field] = true
		}
	}

	return fields
}

var sqlOperators = map[string]string{"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

// prepareWhere returns a WHERE clause that every document matching filter passes; FerretDB still applies the
// whole filter afterwards, so the clause only needs to be implied by it. It holds equality, range and `$in`
// conditions on indexed top-level fields compared with strings, ObjectIDs, dates, integers or booleans;
// every other condition is left to the filter.
//
// Each condition is also true of a document the filter does not match only in ways the filter then rejects
// (SQLite compares an integer bound with a stored date, a string bound with an ObjectID's hex), never the
// other way round, except for one case MongoDB's multikey semantics make: a field holding an array matches
// a scalar condition on any element. Conditions are therefore only pushed down on indexed fields, which the
// application guarantees never hold arrays.
func prepareWhere(filter *types.Document, meta *metadata.Collection) (string, []any) {
	var conds []string
	var args []any

	collectConditions(filter, indexedFields(meta), &conds, &args)

	if len(conds) == 0 {
		return "", nil
	}

	return " WHERE " + strings.Join(conds, " AND "), args
}

func collectConditions(filter *types.Document, indexed map[string]bool, conds *[]string, args *[]any) {
	if filter == nil {
		return
	}

	for _, field := range filter.Keys() {
		value, _ := filter.Get(field)

		if field == "$and" {
			if clauses, ok := value.(*types.Array); ok {
				for i := 0; i < clauses.Len(); i++ {
					clause, err := clauses.Get(i)
					if d, isDoc := clause.(*types.Document); err == nil && isDoc {
						collectConditions(d, indexed, conds, args)
					}
				}
			}
			continue
		}

		if !indexed[field] || !plainField.MatchString(field) {
			continue
		}

		column := valueColumn(field)

		if v, ok := sqlValue(value); ok {
			*conds = append(*conds, column+" = ?")
			*args = append(*args, v)
			continue
		}

		ops, ok := value.(*types.Document)
		if !ok || !allOperators(ops) {
			continue
		}

		for _, op := range ops.Keys() {
			operand, _ := ops.Get(op)

			if sqlOp, known := sqlOperators[op]; known {
				if v, ok := sqlValue(operand); ok {
					*conds = append(*conds, column+" "+sqlOp+" ?")
					*args = append(*args, v)
				}
				continue
			}

			if op == "$in" {
				if placeholders, values, ok := inList(operand); ok {
					*conds = append(*conds, column+" IN ("+placeholders+")")
					*args = append(*args, values...)
				}
			}
		}
	}
}

// allOperators: `{field: {a: 1}}` is an exact match on a sub-document, not a set of operators.
func allOperators(d *types.Document) bool {
	for _, k := range d.Keys() {
		if !strings.HasPrefix(k, "$") {
			return false
		}
	}

	return d.Len() > 0
}

func inList(operand any) (string, []any, bool) {
	list, ok := operand.(*types.Array)
	if !ok || list.Len() == 0 || list.Len() > maxInValues {
		return "", nil, false
	}

	values := make([]any, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		element, err := list.Get(i)
		if err != nil {
			return "", nil, false
		}

		v, ok := sqlValue(element)
		if !ok {
			return "", nil, false
		}

		values = append(values, v)
	}

	return strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", "), values, true
}

// idCondition is an exact condition on `_id` that SQLite serves from the `_id` value index: the value
// narrows to the rows, the JSON text (what FerretDB compared before) keeps a string apart from an ObjectID
// with the same hex.
func idCondition(id any) (string, []any) {
	exact := string(must.NotFail(sjson.MarshalSingleValue(id)))
	if v, ok := sqlValue(id); ok {
		return valueColumn("_id") + " = ? AND " + metadata.IDColumn + " = ?", []any{v, exact}
	}

	return metadata.IDColumn + " = ?", []any{exact}
}

// idsCondition is idCondition for a list of `_id`s.
func idsCondition(ids []any) (string, []any) {
	exact := make([]any, len(ids))
	values := make([]any, 0, len(ids))
	for i, id := range ids {
		exact[i] = string(must.NotFail(sjson.MarshalSingleValue(id)))
		if v, ok := sqlValue(id); ok {
			values = append(values, v)
		}
	}

	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	cond := metadata.IDColumn + " IN (" + placeholders + ")"
	if len(values) == len(ids) {
		return valueColumn("_id") + " IN (" + placeholders + ") AND " + cond, append(values, exact...)
	}

	return cond, exact
}

// idSort reports whether sort is `{_id: 1}` or `{_id: -1}`, the one sort hookflow's build pushes down, and
// its SQL direction. SQLite orders `_id` values as MongoDB does when a collection's ids are of one type
// (strings, ObjectIDs or integers), as hookflow's are.
func idSort(sort *types.Document) (string, bool) {
	if sort.Len() != 1 || sort.Keys()[0] != "_id" {
		return "", false
	}

	v, _ := sort.Get("_id")
	switch v {
	case int64(1), int32(1), float64(1):
		return "", true
	case int64(-1), int32(-1), float64(-1):
		return " DESC", true
	}

	return "", false
}

// prepareIDOrderBy is the ORDER BY clause of an `_id` sort, empty for any other.
func prepareIDOrderBy(sort *types.Document) string {
	direction, ok := idSort(sort)
	if !ok {
		return ""
	}

	return " ORDER BY " + valueColumn("_id") + direction
}
