// The referral report and the follow-up exports (docs/reports.md) read
// through a head office's Storage instead of a file: for a head office on
// PostgreSQL, where there is no file for the report engine to open. The
// same folds as build_report and build_export (tools/report), so the
// answers are theirs; refpos-hq serves the report this way
// (GET /v1/reports/referrals) and refposctl report/export run both when
// given a postgresql:// URL.
//
// Everything is read in one Storage::read_snapshot, so the figures agree
// with one another while stores keep syncing; the storage must implement
// the report reads (PgStorage does, SqliteStorage leaves them to the file).
#pragma once

#include "base/result.hpp"
#include "exports.hpp"
#include "hq/storage.hpp"
#include "report.hpp"

namespace refpos::hq {

// request.path is not used; request.progress (may be empty) is called as
// build_report calls it. Errors as build_report's: storage (cannot read,
// "unavailable" when the connection is gone), not_found (a store id head
// office does not hold).
Result<report::Report> build_report_from(Storage& storage, const report::ReportRequest& request);

// The same for build_export (request.path not used). Every event is read
// (consent is the latest state whatever the period), then the keys, one
// person at a time, inside the same snapshot.
Result<report::Export> build_export_from(Storage& storage, const report::ExportRequest& request);

}  // namespace refpos::hq
