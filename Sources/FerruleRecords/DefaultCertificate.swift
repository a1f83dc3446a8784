/// The built-in certificate template (Mustache). `ferruled certificate-template` prints it, so
/// that a quality department can start its own from it (`station.certificateTemplate`). The
/// fields it may use are `CertificateView`'s. One self-contained HTML page (no scripts, no
/// external files) that prints on A4 and Letter alike: the content is at most 186 mm wide,
/// tables repeat their header on each page and rows never split.
enum DefaultCertificate {
    static let text = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Test certificate {{serial}}</title>
        <style>
        @page { margin: 12mm; }
        * { box-sizing: border-box; }
        body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 9pt; color: #111;
          max-width: 186mm; margin: 0 auto; }
        h1 { font-size: 15pt; margin: 0 0 2mm 0; }
        h2 { font-size: 11pt; margin: 5mm 0 1.5mm 0; border-bottom: 0.3mm solid #888; }
        table { border-collapse: collapse; width: 100%; }
        thead { display: table-header-group; }
        tr, .keep { break-inside: avoid; page-break-inside: avoid; }
        th, td { border: 0.2mm solid #bbb; padding: 0.6mm 1.5mm; text-align: left; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        .kv td:first-child { width: 38%; color: #444; }
        .verdict { font-size: 14pt; font-weight: bold; padding: 1mm 4mm; border: 0.6mm solid; display: inline-block; }
        .verdict.pass, .mark.pass { color: #176b2c; }
        .verdict.fail, .mark.fail { color: #a4161a; }
        .head { display: flex; justify-content: space-between; align-items: flex-start; gap: 4mm; }
        .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; }
        svg { width: 100%; height: auto; }
        .small { font-size: 7.5pt; color: #444; }
        @media print { a { color: inherit; text-decoration: none; } }
        </style>
        </head>
        <body>
        <div class="head keep">
        <div>
        <h1>Optical test certificate</h1>
        <div>{{description}}</div>
        <div class="small">Report {{reportId}}</div>
        </div>
        <div class="verdict {{#passed}}pass{{/passed}}{{^passed}}fail{{/passed}}">{{verdict}}</div>
        </div>
        <div class="grid keep">
        <table class="kv"><tbody>
        <tr><td>Serial number</td><td><b>{{serial}}</b></td></tr>
        <tr><td>Part number</td><td>{{partNumber}}</td></tr>
        <tr><td>Assembly</td><td>{{assembly}}</td></tr>
        <tr><td>End A</td><td>{{endA}}</td></tr>
        <tr><td>End B</td><td>{{endB}}</td></tr>
        </tbody></table>
        <table class="kv"><tbody>
        <tr><td>Tested</td><td>{{startedAt}} to {{finishedAt}}</td></tr>
        <tr><td>Station / fixture</td><td>{{stationId}} / {{fixture}}</td></tr>
        <tr><td>Operator</td><td>{{operatorId}}</td></tr>
        <tr><td>Limits</td><td>{{limits}}</td></tr>
        <tr><td>Wavelengths</td><td>{{wavelengths}}</td></tr>
        </tbody></table>
        </div>
        {{#hasReasons}}
        <h2>Why not pass</h2>
        <ul>
        {{#reasons}}
        <li>{{.}}</li>
        {{/reasons}}
        </ul>
        {{/hasReasons}}
        {{#hasDiagnoses}}
        <ul class="small">
        {{#diagnoses}}
        <li>{{message}} ({{action}})</li>
        {{/diagnoses}}
        </ul>
        {{/hasDiagnoses}}
        <h2>Insertion loss per fiber</h2>
        <div class="keep">{{{chartSVG}}}</div>
        {{#tables}}
        <h2>End {{end}} launch, {{wavelengthNm}} nm</h2>
        <table>
        <thead><tr><th class="n">Fiber</th><th class="n">Arrives at</th><th class="n">IL dB</th><th class="n">IL max</th>
        <th class="n">Margin</th><th class="n">RL A dB</th><th class="n">RL B dB</th><th class="n">RL min A/B</th>
        <th>Result</th></tr></thead>
        <tbody>
        {{#rows}}
        <tr><td class="n">{{fiber}}</td><td class="n">{{arrivesAt}}</td><td class="n">{{il}}</td><td class="n">{{ilMax}}</td>
        <td class="n">{{ilMargin}}</td><td class="n">{{rlA}}</td><td class="n">{{rlB}}</td><td class="n">{{rlMinA}}/{{rlMinB}}</td>
        <td>{{#passed}}<span class="mark pass">&#10004; pass</span>{{/passed}}{{^passed}}<span class="mark fail">&#10008; {{verdict}}</span>
        {{/passed}}{{#why}} <span class="small">{{.}}</span>{{/why}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{/tables}}
        {{#polarity}}
        <h2>Polarity</h2>
        <table class="kv keep"><tbody>
        <tr><td>Expected</td><td>Type {{expectedType}}</td></tr>
        <tr><td>Observed</td><td>{{observedType}} ({{observedMap}})</td></tr>
        <tr><td>Result</td><td><span class="mark {{#passed}}pass{{/passed}}{{^passed}}fail{{/passed}}">{{verdict}}</span>
        {{#mismatches}}: {{.}}{{/mismatches}}</td></tr>
        </tbody></table>
        {{/polarity}}
        <h2>Traceability</h2>
        <table class="keep">
        <thead><tr><th>Role</th><th>Instrument</th><th>Identity</th><th>Calibration due</th></tr></thead>
        <tbody>
        {{#instruments}}
        <tr><td>{{role}}</td><td>{{name}} ({{driver}}, {{address}})</td><td>{{identity}}</td><td>{{calibrationDue}}</td></tr>
        {{/instruments}}
        </tbody>
        </table>
        <table class="kv keep"><tbody>
        {{#references}}
        <tr><td>Reference</td><td>cord {{cord}} (Type {{polarity}}), {{method}}, taken {{takenAt}}, valid until {{validUntil}};
        {{valueCount}} path values ({{pairs}})</td></tr>
        {{/references}}
        {{#cords}}
        <tr><td>Cord</td><td>{{role}} {{id}}: {{matings}} of {{maxMatings}} rated matings ({{state}})</td></tr>
        {{/cords}}
        <tr><td>Software</td><td>ferrule {{softwareVersion}}, config {{configHash}}</td></tr>
        </tbody></table>
        <p class="small">Rendered from the station's stored record {{reportId}}. IL to 0.001 dB, RL to 0.1 dB;
        margin is limit minus value.</p>
        </body>
        </html>

        """#
}
