// Builds china-provinces.json (see README.md here) from echarts@4.9.0's map/json/china.json.
// That file is GeoJSON whose coordinates are packed in ECharts 4's "UTF8Encoding" (delta +
// zigzag, 1/1024 degree); this writes plain GeoJSON instead: coordinates decoded and rounded to
// 3 decimals (repeated points and rings of < 4 points dropped), properties = {adcode (GB/T 2260, number), name (ECharts'
// short name, e.g. 浙江), fullname (浙江省), cp (label anchor)}. Geometry is otherwise unchanged.
// Usage: node decode.mjs package/map/json/china.json > china-provinces.json
import fs from 'node:fs';
const FULL = {
  110000:'北京市',120000:'天津市',130000:'河北省',140000:'山西省',150000:'内蒙古自治区',
  210000:'辽宁省',220000:'吉林省',230000:'黑龙江省',310000:'上海市',320000:'江苏省',
  330000:'浙江省',340000:'安徽省',350000:'福建省',360000:'江西省',370000:'山东省',
  410000:'河南省',420000:'湖北省',430000:'湖南省',440000:'广东省',450000:'广西壮族自治区',
  460000:'海南省',500000:'重庆市',510000:'四川省',520000:'贵州省',530000:'云南省',
  540000:'西藏自治区',610000:'陕西省',620000:'甘肃省',630000:'青海省',640000:'宁夏回族自治区',
  650000:'新疆维吾尔自治区',710000:'台湾省',810000:'香港特别行政区',820000:'澳门特别行政区'};
const src = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const scale = src.UTF8Scale || 1024;
const round = v => Math.round(v * 1000) / 1000;
function ring(str, off) {
  const out = []; let px = off[0], py = off[1];
  for (let i = 0; i < str.length; i += 2) {
    let x = str.charCodeAt(i) - 64, y = str.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ -(x & 1); y = (y >> 1) ^ -(y & 1);
    x += px; y += py; px = x; py = y;
    out.push([round(x / scale), round(y / scale)]);
  }
  // drop consecutive duplicates created by rounding, keep the ring closed
  const d = out.filter((p, i) => i === 0 || p[0] !== out[i-1][0] || p[1] !== out[i-1][1]);
  if (d.length && (d[0][0] !== d[d.length-1][0] || d[0][1] !== d[d.length-1][1])) d.push(d[0].slice());
  return d;
}
const features = src.features.map(f => {
  const g = f.geometry; let coords;
  if (!src.UTF8Encoding || !g.encodeOffsets) coords = g.coordinates;
  else if (g.type === 'Polygon') coords = g.coordinates.map((r, i) => ring(r, g.encodeOffsets[i]));
  else if (g.type === 'MultiPolygon') coords = g.coordinates.map((p, j) => p.map((r, i) => ring(r, g.encodeOffsets[j][i])));
  else throw new Error('unexpected geometry ' + g.type);
  // A GeoJSON ring needs >= 4 positions: drop degenerate rings (slivers of a few points),
  // and polygons whose outer ring was dropped.
  const valid = poly => poly.length && poly[0].length >= 4;
  const clean = poly => poly.filter(r => r.length >= 4);
  if (g.type === 'Polygon') coords = clean(coords);
  else coords = coords.filter(valid).map(clean);
  const id = Number(f.id || f.properties.id);
  const props = {adcode: id, name: f.properties.name};
  if (FULL[id]) props.fullname = FULL[id];
  if (f.properties.cp) props.cp = f.properties.cp;  // label anchor, read by ECharts
  return {type: 'Feature', properties: props, geometry: {type: g.type, coordinates: coords}};
});
process.stdout.write(JSON.stringify({type: 'FeatureCollection', features}));
