// Small builders for the Grafana JSON of the dashboards (schemaVersion 39, Grafana 10.3
// and later): variables, targets, panels, data links and the grid layout. Every panel and
// target reads the ${datasource} variable (.ci/checks/dashboards insists on it).
local datasource = { type: 'prometheus', uid: '${datasource}' };

// Thresholds steps from [[color, value], ...]; the first value is null (the base).
local steps(list) = { mode: 'absolute', steps: [{ color: s[0], value: s[1] } for s in list] };

// A field override: `properties` is an object { property id: value }.
local override(matcher, id, properties) = {
  matcher: { id: matcher, options: id },
  properties: [{ id: k, value: properties[k] } for k in std.objectFields(properties)],
};

local legend = {
  displayMode: 'table',
  placement: 'right',
  calcs: ['max', 'lastNotNull'],
  showLegend: true,
};

{
  datasource:: datasource,
  steps:: steps,

  // --- variables -----------------------------------------------------------------------
  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    refresh: 1,
    regex: '',
    options: [],
    includeAll: false,
    multi: false,
  },

  // A multi-value query variable with All (`.*`, which also matches a missing label),
  // refreshed when the time range changes; `regex` extracts the values (query_result).
  queryVariable(name, label, query, description=null, regex=''):: {
    name: name,
    label: label,
    type: 'query',
    datasource: datasource,
    definition: query,
    query: { qryType: 1, query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    regex: regex,
    sort: 1,
    hide: 0,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
  } + (if description == null then {} else { description: description }),

  // --- targets -------------------------------------------------------------------------
  // A range query (time series panels)...
  target(expr, legend=null, refId='A'):: {
    datasource: datasource,
    refId: refId,
    expr: expr,
    editorMode: 'code',
    range: true,
    instant: false,
    format: 'time_series',
  } + (if legend == null then {} else { legendFormat: legend }),
  // ... an instant one (stats, pie charts, bar gauges)...
  instant(expr, legend=null, refId='A'):: self.target(expr, legend, refId) + { range: false, instant: true },
  // ... and an instant one in table format (one row per series, a column per label).
  tableTarget(expr, refId='A'):: self.instant(expr, null, refId) + { format: 'table' },
  // Targets from a list of expressions, lettered A, B, C, ...
  lettered(make, exprs):: std.mapWithIndex(function(i, e) make(e, std.char(65 + i)), exprs),

  // --- panels --------------------------------------------------------------------------
  // Every panel has a size (w, h); layout() below gives it its place and id.
  panel(type, title, description, targets, w, h):: {
    type: type,
    title: title,
    description: description,
    datasource: datasource,
    targets: targets,
    gridPos: { w: w, h: h },
  },

  row(title):: { type: 'row', title: title, collapsed: false, panels: [], gridPos: { w: 24, h: 1 } },

  // A single number, coloured by thresholds (green below the first step).
  stat(title, description, expr, w, h=4, thresholds=[['green', null], ['red', 1]])::
    self.panel('stat', title, description, [self.instant(expr)], w, h) + {
      fieldConfig: {
        defaults: { unit: 'short', color: { mode: 'thresholds' }, decimals: 0, thresholds: steps(thresholds) },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'center',
        textMode: 'value',
        orientation: 'auto',
      },
    },

  // Lines (or stacked bars for counts per interval).
  timeseries(title, description, targets, w, h=8, unit='short', stacked=false, bars=false, overrides=[])::
    self.panel('timeseries', title, description, targets, w, h) + {
      fieldConfig: {
        defaults: {
          unit: unit,
          custom: {
            drawStyle: if bars then 'bars' else 'line',
            fillOpacity: if bars then 60 else 10,
            lineWidth: 1,
            showPoints: 'never',
            spanNulls: false,
            stacking: { mode: if stacked || bars then 'normal' else 'none', group: 'A' },
          },
          color: { mode: 'palette-classic' },
          min: 0,
        },
        overrides: overrides,
      },
      options: { legend: legend, tooltip: { mode: 'multi', sort: 'desc' } },
    },

  piechart(title, description, targets, w, h=8)::
    self.panel('piechart', title, description, targets, w, h) + {
      fieldConfig: { defaults: { unit: 'short', color: { mode: 'palette-classic' } }, overrides: [] },
      options: {
        pieType: 'donut',
        displayLabels: ['name', 'value'],
        legend: { displayMode: 'table', placement: 'right', values: ['value'], showLegend: true },
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        tooltip: { mode: 'single', sort: 'none' },
      },
    },

  bargauge(title, description, targets, w, h=8)::
    self.panel('bargauge', title, description, targets, w, h) + {
      fieldConfig: {
        defaults: { unit: 'short', min: 0, color: { mode: 'thresholds' }, thresholds: steps([['orange', null]]) },
        overrides: [],
      },
      options: {
        orientation: 'horizontal',
        displayMode: 'basic',
        showUnfilled: true,
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      },
    },

  stateTimeline(title, description, targets, w, h=8, mappings=[], thresholds=[['green', null]])::
    self.panel('state-timeline', title, description, targets, w, h) + {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          thresholds: steps(thresholds),
          mappings: mappings,
          custom: { fillOpacity: 80, lineWidth: 0 },
        },
        overrides: [],
      },
      options: {
        showValue: 'never',
        mergeValues: true,
        rowHeight: 0.8,
        alignValue: 'left',
        legend: { showLegend: false, displayMode: 'list', placement: 'bottom' },
        tooltip: { mode: 'single', sort: 'none' },
      },
    },

  // A table of instant queries. `columns` is the order of the visible fields as
  // [field, ...] or [[field, display name], ...]; `hidden` the fields left out (Time and
  // the cluster label always are). Several targets are merged into one row per series
  // (Grafana's merge joins rows on the fields all frames share), and their values are
  // `Value #<refId>`.
  table(title, description, targets, w, h=8, columns=[], hidden=[], overrides=[], sortBy=null)::
    local names = [if std.isArray(c) then c else [c, c] for c in columns];
    self.panel('table', title, description, targets, w, h) + {
      transformations: (if std.length(targets) > 1 then [{ id: 'merge', options: {} }] else []) + [{
        id: 'organize',
        options: {
          excludeByName: { [f]: true for f in ['Time'] + hidden },
          renameByName: { [n[0]]: n[1] for n in names if n[0] != n[1] },
          indexByName: { [names[i][0]]: i for i in std.range(0, std.length(names) - 1) },
        },
      }],
      fieldConfig: { defaults: { custom: { align: 'auto', filterable: true } }, overrides: overrides },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: { show: false, reducer: ['sum'], fields: '' },
      } + (if sortBy == null then {} else { sortBy: [{ displayName: sortBy[0], desc: sortBy[1] }] }),
    },

  // --- field overrides -----------------------------------------------------------------
  byName(field, properties):: override('byName', field, properties),
  byRegexp(regexp, properties):: override('byRegexp', regexp, properties),
  byQuery(refId, properties):: override('byFrameRefID', refId, properties),
  // Data links on a column: [{ title, url, targetBlank? }, ...].
  links(field, links):: self.byName(field, { links: links }),
  // A Unix time in milliseconds shown as an age ("3 hours ago").
  age(field):: self.byName(field, { unit: 'dateTimeFromNow' }),
  integer(field):: self.byName(field, { decimals: 0 }),

  // --- layout --------------------------------------------------------------------------
  // Places `bands` (a list of bands, each a list of panels side by side from x = 0; a band
  // is as high as its highest panel) one below the other, and numbers the panels 1, 2, ...
  // in that order.
  layout(bands)::
    local placed = std.foldl(
      function(acc, band)
        local xs = std.foldl(function(a, p) a + [a[std.length(a) - 1] + p.gridPos.w], band, [0]);
        {
          y: acc.y + std.foldl(function(m, p) std.max(m, p.gridPos.h), band, 0),
          panels: acc.panels + [
            band[i] { gridPos+: { x: xs[i], y: acc.y } }
            for i in std.range(0, std.length(band) - 1)
          ],
        },
      bands,
      { y: 0, panels: [] },
    ).panels;
    [placed[i] { id: i + 1 } for i in std.range(0, std.length(placed) - 1)],

  // --- annotations ---------------------------------------------------------------------
  // An annotation from a PromQL range query: an event at each step where `expr` is > 0
  // (steps in a row make one region); title and text are legend formats ({{label}}).
  promAnnotation(name, expr, title, text, tagKeys=[], color='rgba(255, 152, 48, 1)'):: {
    name: name,
    datasource: datasource,
    enable: true,
    hide: false,
    iconColor: color,
    expr: expr,
    titleFormat: title,
    textFormat: text,
    tagKeys: std.join(',', tagKeys),
    useValueForTime: false,
  },

  // --- dashboard -----------------------------------------------------------------------
  dashboard(config, uid, title, description, variables, panels, links, annotations=[]):: {
    id: null,
    uid: uid,
    title: title,
    description: description,
    tags: config.dashboardTags,
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: config.dashboardGraphTooltip,
    time: { from: 'now-6h', to: 'now' },
    timezone: config.dashboardTimezone,
    refresh: config.dashboardRefresh,
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    timepicker: {},
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }] + annotations,
    },
    templating: { list: variables },
    panels: panels,
    links: links,
  },

  // A link to another dashboard of the mixin, in the dashboard's header, keeping the time
  // range and the variables.
  dashboardLink(title, url):: {
    title: title,
    type: 'link',
    url: url,
    includeVars: true,
    keepTime: true,
    icon: 'dashboard',
  },
}
