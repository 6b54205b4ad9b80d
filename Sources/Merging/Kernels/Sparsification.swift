/// How a method reduces each task vector before combining (MergeKit's `SparsificationMethod`).
enum Sparsification: String, Sendable, Hashable {
    /// Keep the k = max(1, ⌊density·n⌋) largest |δ| of the tensor.
    case magnitude
    /// Keep each element with probability `density` (DARE).
    case random
    /// Drop the ⌊gamma·n⌋ largest |δ| and the smallest, keeping ⌊density·n⌋ (Model Breadcrumbs).
    case magnitudeOutliers = "magnitude_outliers"
    /// Keep with probability rising with |δ|'s rank within each row (DELLA).
    case dellaMagprune = "della_magprune"
}
