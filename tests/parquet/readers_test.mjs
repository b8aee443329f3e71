// Reads the files parquet_roundtrip_gen wrote with two independent Parquet readers and compares
// them with the expected JSON next to each file: row count, every value of every column, the
// declared types, and per row group and column the statistics (null_count, min_value,
// max_value).
//   hyparquet (pure JavaScript; ZSTD through hyparquet-compressors)
//   DuckDB    (@duckdb/node-api, the C++ engine)
// Usage: node readers_test.mjs <npm prefix with node_modules> <dir> <base name>...
// Prints one line per file and reader; exits 1 on the first mismatch (with what differed).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [prefix, dir, ...bases] = process.argv.slice(2)
const mod = (p) => import(pathToFileURL(join(prefix, 'node_modules', p)).href)
const { parquetMetadata, parquetReadObjects } = await mod('hyparquet/src/index.js')
const { compressors } = await mod('hyparquet-compressors/src/index.js')
const { DuckDBInstance } = await mod('@duckdb/node-api/lib/index.js')

function fail(msg) {
  console.log(`FAIL: ${msg}`)
  process.exit(1)
}
const hex = (b) => Buffer.from(b).toString('hex')
const utf8 = new TextDecoder('utf-8', { fatal: true })

// A reader's schema element as the generator's "declared" string.
function declared(el) {
  let s = el.type
  const lt = el.logical_type
  if (lt?.type === 'STRING') s += ' STRING'
  else if (lt?.type === 'INTEGER') s += ` INT(${lt.bitWidth},${lt.isSigned ? 'signed' : 'unsigned'})`
  else if (lt?.type === 'TIMESTAMP') s += ` TIMESTAMP(${lt.unit},${lt.isAdjustedToUTC ? 'utc' : 'local'})`
  else if (lt?.type === 'DATE') s += ' DATE'
  else if (lt) s += ` ?${lt.type}`
  return `${s} ${el.repetition_type}`
}

// hyparquet value -> the expected JSON's spelling. Parsers below keep raw bytes and integers.
function fromHy(v, el) {
  if (v === null || v === undefined) return null
  if (v instanceof Uint8Array) return el.logical_type?.type === 'STRING' ? utf8.decode(v) : hex(v)
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return el.type === 'DOUBLE' ? v : String(v)
  return `?${typeof v}:${v}`
}

// DuckDB value -> the same spelling.
function fromDuck(v, el) {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return el.type === 'DOUBLE' ? v : String(v)
  if (v.bytes instanceof Uint8Array) return hex(v.bytes)
  if (typeof v.nanos === 'bigint') return v.nanos.toString()
  if (typeof v.micros === 'bigint') return v.micros.toString()
  if (typeof v.days === 'number') return String(v.days)
  return `?${v.constructor?.name}:${v}`
}

function same(actual, expected, el) {
  if (el.type === 'DOUBLE' && expected !== null) return actual === Number(expected)
  return actual === expected
}

// Orders expected values as the column's type does.
function less(a, b, el) {
  if (el.type === 'DOUBLE') return Number(a) < Number(b)
  if (el.type === 'BOOLEAN') return a === false && b === true
  if (el.type === 'BYTE_ARRAY') {
    const enc = (x) => (el.logical_type?.type === 'STRING' ? Buffer.from(x, 'utf8') : Buffer.from(x, 'hex'))
    return Buffer.compare(enc(a), enc(b)) < 0
  }
  return BigInt(a) < BigInt(b)
}

const raw = (x) => x
const parsers = {
  timestampFromMilliseconds: raw, timestampFromMicroseconds: raw, timestampFromNanoseconds: raw,
  dateFromDays: raw, stringFromBytes: raw,
}

async function checkHyparquet(file, exp) {
  const buf = readFileSync(file)
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  const meta = parquetMetadata(ab, { parsers })
  if (Number(meta.num_rows) !== exp.rows) fail(`${file}: hyparquet num_rows ${meta.num_rows} != ${exp.rows}`)
  const els = meta.schema.slice(1)
  if (els.length !== exp.columns.length) fail(`${file}: ${els.length} columns, expected ${exp.columns.length}`)
  exp.columns.forEach((c, i) => {
    if (els[i].name !== c.name) fail(`${file}: column ${i} is ${els[i].name}, expected ${c.name}`)
    if (declared(els[i]) !== c.declared) fail(`${file}: ${c.name} is ${declared(els[i])}, declared ${c.declared}`)
  })
  if (!meta.created_by?.startsWith('xtcp2')) fail(`${file}: created_by ${meta.created_by}`)
  const rows = await parquetReadObjects({ file: ab, compressors, parsers, utf8: false })
  if (rows.length !== exp.rows) fail(`${file}: hyparquet read ${rows.length} rows, expected ${exp.rows}`)
  exp.columns.forEach((c, i) => {
    for (let r = 0; r < exp.rows; r++) {
      const got = fromHy(rows[r][c.name], els[i])
      if (!same(got, c.values[r], els[i])) fail(`${file}: hyparquet ${c.name}[${r}] = ${got}, expected ${c.values[r]}`)
    }
  })
  // Statistics per row group and column, against the expected values of that group's rows.
  let first = 0
  let checked = 0
  let dictChunks = 0
  for (const rg of meta.row_groups) {
    const n = Number(rg.num_rows)
    exp.columns.forEach((c, i) => {
      const cm = rg.columns[i].meta_data
      // The writer's choice: few distinct strings are dictionary pages, unique ones PLAIN.
      const dict = cm.encodings.includes('RLE_DICTIONARY')
      if (c.name === 's_dict' && n > Number(cm.statistics.null_count) && !dict) fail(`${file}: s_dict not dictionary-encoded`)
      if (c.name === 's_plain' && dict) fail(`${file}: s_plain dictionary-encoded`)
      if (dict) dictChunks++
      if (Number(cm.num_values) !== n) fail(`${file}: ${c.name} num_values ${cm.num_values} != ${n}`)
      const vals = c.values.slice(first, first + n).filter((v) => v !== null)
      const st = cm.statistics
      if (Number(st.null_count) !== n - vals.length) fail(`${file}: ${c.name} null_count ${st.null_count} != ${n - vals.length}`)
      if (vals.length === 0) {
        if (st.min_value !== undefined || st.max_value !== undefined) fail(`${file}: ${c.name} min/max on an all-null chunk`)
        return
      }
      let lo = vals[0]
      let hi = vals[0]
      for (const v of vals) {
        if (less(v, lo, els[i])) lo = v
        if (less(hi, v, els[i])) hi = v
      }
      const gotLo = fromHy(st.min_value, els[i])
      const gotHi = fromHy(st.max_value, els[i])
      if (!same(gotLo, lo, els[i]) || !same(gotHi, hi, els[i])) fail(`${file}: ${c.name} stats [${gotLo}, ${gotHi}], expected [${lo}, ${hi}]`)
      checked++
    })
    first += n
  }
  return { groups: meta.row_groups.length, stats: checked, dict: dictChunks }
}

const duckType = {
  'BOOLEAN': 'BOOLEAN', 'INT32': 'INTEGER', 'INT64': 'BIGINT', 'DOUBLE': 'DOUBLE', 'BYTE_ARRAY': 'BLOB',
  'BYTE_ARRAY STRING': 'VARCHAR', 'INT32 INT(16,signed)': 'SMALLINT', 'INT32 INT(32,signed)': 'INTEGER',
  'INT32 INT(32,unsigned)': 'UINTEGER', 'INT64 INT(64,unsigned)': 'UBIGINT', 'INT64 INT(64,signed)': 'BIGINT',
  'INT64 TIMESTAMP(NANOS,utc)': 'TIMESTAMP WITH TIME ZONE', 'INT64 TIMESTAMP(MICROS,utc)': 'TIMESTAMP WITH TIME ZONE',
  'INT64 TIMESTAMP(MICROS,local)': 'TIMESTAMP', 'INT32 DATE': 'DATE',
}

async function checkDuckdb(conn, file, exp) {
  const q = (sql) => conn.runAndReadAll(sql)
  const esc = file.replaceAll("'", "''")
  const desc = (await q(`DESCRIBE SELECT * FROM read_parquet('${esc}')`)).getRowObjectsJS()
  exp.columns.forEach((c, i) => {
    const want = duckType[c.declared.replace(/ (OPTIONAL|REQUIRED)$/, '')]
    if (desc[i].column_name !== c.name || desc[i].column_type !== want) {
      fail(`${file}: DuckDB column ${i} ${desc[i].column_name} ${desc[i].column_type}, expected ${c.name} ${want}`)
    }
  })
  // TIMESTAMPTZ NANOS reads back as micros: compare those columns through epoch_ns().
  const select = exp.columns.map((c) => c.declared.includes('TIMESTAMP(NANOS')
    ? `epoch_ns("${c.name}") AS "${c.name}"` : `"${c.name}"`).join(', ')
  const reader = await q(`SELECT ${select} FROM read_parquet('${esc}')`)
  const cols = reader.getColumns()
  if (reader.currentRowCount !== exp.rows) fail(`${file}: DuckDB read ${reader.currentRowCount} rows, expected ${exp.rows}`)
  // DuckDB keeps TIMESTAMPTZ in microseconds: NANOS columns compare at that precision (truncated toward zero).
  const micros = (v) => {
    if (v === null) return v
    const n = BigInt(v)
    return (n / 1000n * 1000n).toString()
  }
  exp.columns.forEach((c, i) => {
    const el = { type: c.declared.split(' ')[0] }
    const nanos = c.declared.includes('TIMESTAMP(NANOS')
    for (let r = 0; r < exp.rows; r++) {
      const got = fromDuck(cols[i][r], el)
      const want = nanos ? micros(c.values[r]) : c.values[r]
      if (!same(got, want, el)) fail(`${file}: DuckDB ${c.name}[${r}] = ${got}, expected ${want}`)
    }
  })
  // Codec and statistics as DuckDB's own metadata reader sees them.
  const md = (await q(`SELECT row_group_id, column_id, compression, stats_null_count, num_values,
                              stats_min_value, stats_max_value, row_group_num_rows
                       FROM parquet_metadata('${esc}') ORDER BY row_group_id, column_id`)).getRowObjectsJS()
  let first = 0
  let statsChecked = 0
  for (const m of md) {
    const c = exp.columns[Number(m.column_id)]
    if (m.compression !== exp.codec) fail(`${file}: DuckDB compression ${m.compression}, expected ${exp.codec}`)
    const n = Number(m.row_group_num_rows)
    const vals = c.values.slice(first, first + n).filter((v) => v !== null)
    if (Number(m.stats_null_count) !== n - vals.length) fail(`${file}: DuckDB ${c.name} null_count ${m.stats_null_count}`)
    // Integers and strings: DuckDB prints min/max as the logical type's value.
    const kind = c.declared.replace(/ (OPTIONAL|REQUIRED)$/, '')
    if (vals.length && (/^INT(32|64)( INT\(|$)/.test(kind) || kind === 'BYTE_ARRAY STRING')) {
      const el = { type: kind.split(' ')[0], logical_type: kind.endsWith('STRING') ? { type: 'STRING' } : undefined }
      let lo = vals[0]
      let hi = vals[0]
      for (const v of vals) {
        if (less(v, lo, el)) lo = v
        if (less(hi, v, el)) hi = v
      }
      if (m.stats_min_value !== lo || m.stats_max_value !== hi) {
        fail(`${file}: DuckDB ${c.name} stats [${m.stats_min_value}, ${m.stats_max_value}], expected [${lo}, ${hi}]`)
      }
      statsChecked++
    }
    if (Number(m.column_id) === exp.columns.length - 1) first += n
  }
  return { chunks: md.length, stats: statsChecked }
}

const instance = await DuckDBInstance.create(':memory:')
const conn = await instance.connect()
const started = Date.now()
for (const base of bases) {
  const file = join(dir, `${base}.parquet`)
  const exp = JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8'))
  const hy = await checkHyparquet(file, exp)
  console.log(`ok hyparquet ${base}: ${exp.rows} rows x ${exp.columns.length} columns, ${hy.groups} row groups, ${hy.stats} chunk statistics, ${hy.dict} dictionary chunks`)
  const dk = await checkDuckdb(conn, file, exp)
  console.log(`ok duckdb    ${base}: ${exp.rows} rows x ${exp.columns.length} columns, ${dk.chunks} chunks (${exp.codec}), ${dk.stats} min/max checked`)
  if (Date.now() - started > 50000) fail('over 50 s')
}
console.log(`PASS: ${bases.length} files`)
