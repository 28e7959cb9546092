//! `eval --plot`: ROC curves per fold and a histogram of spam probabilities, as one SVG.

use super::FoldScores;
use crate::engine::metrics::{auc, roc_points};
use plotters::prelude::*;
use std::path::Path;

const BINS: usize = 20;

/// Writes the SVG; errors come back as text for the CLI to report.
pub fn write_svg(path: &Path, title: &str, folds: &[FoldScores]) -> Result<(), String> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(600);

    let mut roc = ChartBuilder::on(&left)
        .caption("ROC", ("sans-serif", 16))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(|e| err(&e))?;
    roc.configure_mesh()
        .x_desc("false-positive rate (ham flagged)")
        .y_desc("true-positive rate (spam caught)")
        .draw()
        .map_err(|e| err(&e))?;
    for (i, fold) in folds.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let label = format!(
            "{} (AUC {:.3})",
            fold.name,
            auc(&fold.probabilities, &fold.is_spam)
        );
        roc.draw_series(LineSeries::new(
            roc_points(&fold.probabilities, &fold.is_spam),
            color.stroke_width(2),
        ))
        .map_err(|e| err(&e))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color.stroke_width(2)));
    }
    roc.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;

    let mut ham = [0usize; BINS];
    let mut spam = [0usize; BINS];
    for fold in folds {
        for (&p, &s) in fold.probabilities.iter().zip(&fold.is_spam) {
            let bin = ((p * BINS as f64) as usize).min(BINS - 1);
            if s { spam[bin] += 1 } else { ham[bin] += 1 }
        }
    }
    let top = ham.iter().chain(&spam).copied().max().unwrap_or(1).max(1);
    let mut hist = ChartBuilder::on(&right)
        .caption("spam probability (all folds)", ("sans-serif", 16))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, 0usize..top + top / 10 + 1)
        .map_err(|e| err(&e))?;
    hist.configure_mesh()
        .x_desc("spam probability")
        .y_desc("comments")
        .draw()
        .map_err(|e| err(&e))?;
    let width = 1.0 / BINS as f64;
    for (counts, color, label, offset) in
        [(&ham, BLUE, "ham", 0.0), (&spam, RED, "spam", width / 2.0)]
    {
        hist.draw_series(counts.iter().enumerate().map(|(b, &c)| {
            let x0 = b as f64 * width + offset;
            Rectangle::new([(x0, 0), (x0 + width / 2.0, c)], color.mix(0.6).filled())
        }))
        .map_err(|e| err(&e))?
        .label(label)
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.mix(0.6).filled())
        });
    }
    hist.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
