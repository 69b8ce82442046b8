"""Other real series with the traits that break forecasters' defaults, for forecast_vs_baselines.py --series.

    python benchmarks/forecast_stress_series.py /tmp/stress       # writes look.jsonl, aside.jsonl and r.jsonl there
    nice -n 19 python benchmarks/forecast_vs_baselines.py --series /tmp/stress/look.jsonl --folds 2 --no-peers

Short yearly series (9-38 values of history), monthly and quarterly ones with breaks (hyperinflation,
reunification, interest-rate regimes), zeros (sunspots), a half-hourly series with a weekly season and
four weeks of history: from R's datasets (r-base-core) and the Debian packages r-cran-aer and
r-cran-forecast (`apt-get install r-cran-aer r-cran-forecast`), read through `Rscript`. Two sets, fixed
before any result was seen: ``look`` to find what breaks, ``aside`` only to report on. None of these
series is in datasets.forecast_series() (R's UKDriverDeaths is its uk_ksi, so it is left out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

# (set, name, frequency, season, R package, R object, column)
SERIES = [
    ("look", "gas", "M", 12, "forecast", "gas", None),
    ("look", "DutchSales", "M", 12, "AER", "DutchSales", None),
    ("look", "FrozenJuice_price", "M", 12, "AER", "FrozenJuice", "price"),
    ("look", "BondYield", "M", 12, "AER", "BondYield", None),
    ("look", "sunspot_month", "M", 12, "datasets", "sunspot.month", None),
    ("look", "USMacroSWQ_gdp", "Q", 4, "AER", "USMacroSWQ", "gdp"),
    ("look", "UKNonDurables", "Q", 4, "AER", "UKNonDurables", None),
    ("look", "GermanUnemployment_unadjusted", "Q", 4, "AER", "GermanUnemployment", "unadjusted"),
    ("look", "ArgentinaCPI", "Q", 4, "AER", "ArgentinaCPI", None),
    ("look", "UKInflation_actual", "Q", 4, "AER", "UKInflation", "actual"),
    ("look", "freeny_y", "Q", 4, "datasets", "freeny.y", None),
    ("look", "airmiles", "Y", 1, "datasets", "airmiles", None),
    ("look", "uspop", "Y", 1, "datasets", "uspop", None),
    ("look", "USConsump1993_expenditure", "Y", 1, "AER", "USConsump1993", "expenditure"),
    ("look", "ChinaIncome_industry", "Y", 1, "AER", "ChinaIncome", "industry"),
    ("look", "KleinI_gnp", "Y", 1, "AER", "KleinI", "gnp"),
    ("look", "Longley_gnp", "Y", 1, "AER", "Longley", "gnp"),
    ("look", "treering", "Y", 1, "datasets", "treering", None),
    ("aside", "Seatbelts_front", "M", 12, "datasets", "Seatbelts", "front"),
    ("aside", "PepperPrice_black", "M", 12, "AER", "PepperPrice", "black"),
    ("aside", "USMacroSWM_production", "M", 12, "AER", "USMacroSWM", "production"),
    ("aside", "USStocksSW_dividend", "M", 12, "AER", "USStocksSW", "dividend"),
    ("aside", "USMacroSW_unemp", "Q", 4, "AER", "USMacroSW", "unemp"),
    ("aside", "USProdIndex_unadjusted", "Q", 4, "AER", "USProdIndex", "unadjusted"),
    ("aside", "OrangeCounty_employment", "Q", 4, "AER", "OrangeCounty", "employment"),
    ("aside", "USMoney_m1", "Q", 4, "AER", "USMoney", "m1"),
    ("aside", "USMacroB_gnp", "Q", 4, "AER", "USMacroB", "gnp"),
    ("aside", "MotorCycles2", "Y", 1, "AER", "MotorCycles2", None),
    ("aside", "TechChange_output", "Y", 1, "AER", "TechChange", "output"),
    ("aside", "USGasG_gas", "Y", 1, "AER", "USGasG", "gas"),
    ("aside", "USInvest_gnp", "Y", 1, "AER", "USInvest", "gnp"),
    ("aside", "lynx_r", "Y", 1, "datasets", "lynx", None),
]
# the 11 R series the benchmark's docs report as a further check (R's datasets; the non-seasonal ones with
# the yearly horizon, 6), written to r.jsonl
R_SERIES = [("nottem", "M", 12), ("UKgas", "Q", 4), ("USAccDeaths", "M", 12), ("co2", "M", 12),
            ("ldeaths", "M", 12), ("JohnsonJohnson", "Q", 4), ("LakeHuron", "Y", 1), ("nhtemp", "Y", 1),
            ("WWWusage", "Y", 1), ("BJsales", "Y", 1), ("discoveries", "Y", 1)]
# the last values of a long series (the benchmark's --max-history would cut it anyway)
LAST = {"treering": 400}
# half-hourly electricity demand with its weekly season (forecast::taylor): four weeks and the 48 half-hours
# after them, from the start (look) and from the sixth week (aside)
TAYLOR = {"look": ("taylor_4w", 0), "aside": ("taylor_4w_late", 2016)}


def r_values(package: str, obj: str, column: str | None) -> list[float]:
    load = "" if package == "datasets" else f"suppressMessages(library({package})); "
    pick = f'[, "{column}"]' if column else ""
    code = (f'{load}e <- new.env(); suppressWarnings(data(list = "{obj}", package = "{package}", envir = e)); '
            f'x <- if (exists("{obj}", envir = e)) get("{obj}", envir = e) else get("{obj}"); '
            f'cat(format(as.numeric(x{pick}), digits = 15))')
    out = subprocess.run(["Rscript", "-e", code], check=True, capture_output=True, text=True).stdout
    return [float(v) for v in out.split()]


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(folder, exist_ok=True)
    files = {s: open(os.path.join(folder, f"{s}.jsonl"), "w") for s in ("look", "aside")}
    for group, name, freq, m, package, obj, column in SERIES:
        values = r_values(package, obj, column)[-LAST.get(name, 10**9):]
        files[group].write(json.dumps({"name": name, "freq": freq, "m": m, "values": values,
                                       "source": f"R {package}::{obj}" + (f"[, {column}]" if column else "")}) + "\n")
    taylor = r_values("forecast", "taylor", None)
    for group, (name, start) in TAYLOR.items():
        files[group].write(json.dumps({"name": name, "freq": "30min", "m": 336,
                                       "values": taylor[start:start + 4 * 336 + 48],
                                       "source": "R forecast::taylor"}) + "\n")
    with open(os.path.join(folder, "r.jsonl"), "w") as f:
        for name, freq, m in R_SERIES:
            f.write(json.dumps({"name": name, "freq": freq, "m": m, "values": r_values("datasets", name, None),
                                "source": f"R datasets::{name}"}) + "\n")
    for f in files.values():
        f.close()
    print(f"{sum(1 for s in SERIES if s[0] == 'look') + 1} look and {sum(1 for s in SERIES if s[0] == 'aside') + 1} "
          f"aside series in {folder}")


if __name__ == "__main__":
    main()
