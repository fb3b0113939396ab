/* SPDX-License-Identifier: MIT */
/*
 * record_evidence.h - the EVIDENCE member of the state's step and job records (record.h's
 * schema) to and from the in-memory evidence (core/run/evidence.h): the one place that writes
 * it, and the job layer's reader of it. The views read it typed (record.h evidence_record).
 */
#ifndef RELHOST_RECORD_EVIDENCE_H
#define RELHOST_RECORD_EVIDENCE_H

#include "run/evidence.h"

#include <jansson.h>

/**
 * The EVIDENCE object of ev (borrowed for the call): metrics and labels in the order they were
 * posted, checks, artifacts and notes in ev's order; a missing number or string is null. New
 * reference, owned by the caller (state_set() takes it).
 */
json_t *record_evidence_to_json(const evidence *ev);

/**
 * Append what an EVIDENCE object j (borrowed; NULL or not an object: nothing) holds to ev, in
 * the object's order. Unknown members are ignored; a member of the wrong type reads as absent
 * (a check without key or op keeps "?"), an artifact without a string uri is dropped. A null
 * metric value reads back as null without a second note (it was noted when first set).
 */
void record_evidence_from_json(evidence *ev, const json_t *j);

#endif
