#include "report_source.hpp"

#include "command.hpp"
#include "hq/config.hpp"

namespace refpos::ctl {

bool is_database_url(const std::string& source) { return hq::database_is_postgres(source); }

std::unique_ptr<hq::PgStorage> open_head_office(const std::string& url) {
  auto opened = hq::PgStorage::open_read_only(url);
  if (!opened) fail_reading(opened.error());
  return std::move(*opened);
}

void fail_reading(const Error& error) {
  if (error.kind == ErrorKind::storage) fail(error.describe());
  fail_usage(error.describe());
}

}  // namespace refpos::ctl
